import GatewayCore
import GatewayLogging
import OpenSSLKit

/// Seals secrets for storage (envelope encryption with the master keyring) and opens them again.
///
/// The associated data names the owner and the column (`certificates/<id>/private_key`), so a ciphertext copied to
/// another row or column fails to open instead of yielding someone else's secret.
public struct SecretVault: Sendable {
    let cipher: EnvelopeCipher

    public init(keyring: MasterKeyring) { cipher = EnvelopeCipher(keyring: keyring) }

    /// Seals `plaintext` for `owner`.
    /// - Throws: `GatewayError.internal` when sealing fails (never with the plaintext in it).
    public func seal(_ plaintext: Secret<String>, owner: String) throws -> [UInt8] {
        do {
            return try cipher.seal(plaintext.reveal, associatedData: owner).bytes
        } catch {
            throw GatewayError.internal("sealing \(owner) failed: \(error)")
        }
    }

    /// Opens what `seal` produced for the same `owner`.
    /// - Throws: `GatewayError.internal` when the ciphertext was tampered with, moved, or the master key is gone.
    public func open(_ sealed: [UInt8], owner: String) throws -> Secret<String> {
        do {
            return Secret(try cipher.open(try SealedSecret(bytes: sealed), associatedData: owner))
        } catch {
            throw GatewayError.internal("opening \(owner) failed: \(error)")
        }
    }

    /// `sealed` re-wrapped under the current master key version, or nil when it already is (key rotation).
    public func rewrapped(_ sealed: [UInt8]) throws -> [UInt8]? {
        let secret = try SealedSecret(bytes: sealed)
        guard cipher.needsRewrap(secret) else { return nil }
        return try cipher.rewrap(secret).bytes
    }
}
