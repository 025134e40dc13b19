import GatewayApp
import GatewayLogging

#if canImport(Glibc)
import Glibc
#endif

// passerelle <command> [options]. Each command lives in Commands/ and returns the process exit code.
let arguments = Array(CommandLine.arguments.dropFirst())
let code = await CommandLineTool.run(arguments: arguments)
exit(code)
