import GatewayApp
import GatewayLogging

#if canImport(Glibc)
import Glibc
#endif

// passerelle <command> [options]. Each command is a `*Command.swift` file beside this one (dispatched by
// `CommandLineTool`) and returns the process exit code.
MallocTuning.apply()
let arguments = Array(CommandLine.arguments.dropFirst())
let code = await CommandLineTool.run(arguments: arguments)
exit(code)
