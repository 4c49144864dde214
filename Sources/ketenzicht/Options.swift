import ArgumentParser
import KetenzichtConfig
import KetenzichtDaemon
import KetenzichtStore

/// `--config` and `--state`, shared by the commands that open a state directory.
struct StateOptions: ParsableArguments {
    @Option(name: .long, help: "Config file (YAML). Without one, the documented defaults apply.")
    var config: String?

    @Option(name: .long, help: "State directory (overrides paths.state of the config; default ./state).")
    var state: String?

    func loadConfiguration() throws -> Configuration {
        var configuration = Configuration()
        if let config {
            do { configuration = try Configuration.load(path: config) } catch {
                throw ValidationError(error.description)
            }
        }
        if let state { configuration.stateDirectory = state }
        return configuration
    }

    func openLedger() throws -> Ledger {
        let configuration = try loadConfiguration()
        return try Ledger(stateDirectory: configuration.stateDirectory, settings: Ledger.Settings(configuration))
    }
}
