internal import CLibXML2
#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Process-wide libxml2 set-up, done once before the first reader or schema exists.
///
/// The external entity loader is the last line of defence against XXE: readers already refuse
/// DOCTYPEs and never ask for DTD loading or entity substitution, but should any code path still
/// reach for an external resource, this loader answers "no". The only exception is a schema
/// compiled from a file (`XMLSchema(contentsOfFile:)`), whose `xs:include`/`xs:import` must read
/// sibling files; that compile marks its own thread, and even then the network stays closed.
enum LibXML2 {
    static func ensureInitialised() {
        _ = installed
    }

    private static let installed: Bool = {
        xmlInitParser()
        xmlSetExternalEntityLoader { url, id, context in
            guard pthread_getspecific(localFileAllowanceKey) != nil else { return nil }
            return xmlNoNetExternalEntityLoader(url, id, context)
        }
        return true
    }()

    /// Runs `body` with local-file entity loading allowed on this thread only.
    static func allowingLocalFiles<T>(_ body: () throws -> T) rethrows -> T {
        ensureInitialised()
        pthread_setspecific(localFileAllowanceKey, UnsafeRawPointer(bitPattern: 1))
        defer { pthread_setspecific(localFileAllowanceKey, nil) }
        return try body()
    }
}

private let localFileAllowanceKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
}()
