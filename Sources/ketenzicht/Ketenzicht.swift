import ArgumentParser

@main
struct Ketenzicht: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ketenzicht",
        abstract: "Zicht op de keten: referral chains in the sociaal domein.",
        discussion: "Ingests referral exchanges (CloudEvents JSON, canonical XML) into a durable, pseudonymised store and analyses the chain: bottlenecks, regisseurs, waiting-time propagation.",
        version: KetenzichtVersion.string,
        subcommands: [
            IngestCommand.self, StatusCommand.self, QuarantineCommand.self, CheckConfigCommand.self,
            BottlenecksCommand.self, CaseCommand.self, RegisseursCommand.self, WhatIfCommand.self,
            PingPongCommand.self, DroppedCommand.self, StructureCommand.self, AlertsCommand.self, DotCommand.self,
            ServeCommand.self,
        ]
    )
}

enum KetenzichtVersion {
    static let string = "0.1.0"
}
