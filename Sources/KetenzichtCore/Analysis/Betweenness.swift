import Dispatch

/// Brandes betweenness centrality on the directed referral graph of the window (SPEC §5,
/// "Structural signals"): nodes are the parties with a referral created in the window (as sender
/// or receiver), with an edge A→B for every ordered pair with at least one such referral;
/// unweighted; normalised as networkx does for directed graphs, ÷ (n−1)(n−2) when n > 2.
public enum Betweenness {
    public struct Entry: Sendable, Equatable {
        public var party: String
        public var betweenness: Double
    }

    /// Parties by betweenness, highest first (ties by id).
    public static func compute(_ model: ChainModel, window: AnalysisWindow) -> [Entry] {
        let graph = WindowGraph(model, window: window)
        let scores = compute(nodeCount: graph.parties.count, edges: graph.edges)
        return zip(graph.parties, scores)
            .map { Entry(party: $0, betweenness: $1) }
            .sorted { ($0.betweenness, $1.party) > ($1.betweenness, $0.party) }
    }

    /// Normalised betweenness of every node of a directed graph given as distinct edges.
    /// Sources are split over the available cores; each worker keeps its own buffers.
    public static func compute(nodeCount n: Int, edges: [(from: Int, to: Int)]) -> [Double] {
        guard n > 0 else { return [] }
        // Compressed adjacency: successors of v are targets[offsets[v]..<offsets[v+1]].
        var offsets = [Int32](repeating: 0, count: n + 1)
        for edge in edges { offsets[edge.from + 1] += 1 }
        for v in 0..<n { offsets[v + 1] += offsets[v] }
        var targets = [Int32](repeating: 0, count: edges.count)
        var fill = offsets
        for edge in edges {
            targets[Int(fill[edge.from])] = Int32(edge.to)
            fill[edge.from] += 1
        }
        let workers = max(1, min(ProcessInfoLite.activeProcessorCount, n / 64 + 1))
        // Each worker writes only its own slot.
        nonisolated(unsafe) let partials = UnsafeMutableBufferPointer<[Double]>.allocate(capacity: workers)
        partials.initialize(repeating: [])
        defer {
            // The workers' arrays are released here; deallocating alone would leak them.
            partials.deinitialize()
            partials.deallocate()
        }
        let adjacencyOffsets = offsets
        let adjacencyTargets = targets
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            adjacencyOffsets.withUnsafeBufferPointer { offsets in
                adjacencyTargets.withUnsafeBufferPointer { targets in
                    partials[worker] = accumulate(n: n, offsets: offsets, targets: targets, sources: stride(from: worker, to: n, by: workers))
                }
            }
        }
        var total = [Double](repeating: 0, count: n)
        for partial in partials {
            for v in 0..<n { total[v] += partial[v] }
        }
        if n > 2 {
            let scale = 1 / Double((n - 1) * (n - 2))
            for v in 0..<n { total[v] *= scale }
        }
        return total
    }

    private static func accumulate(n: Int, offsets: UnsafeBufferPointer<Int32>, targets: UnsafeBufferPointer<Int32>, sources: StrideTo<Int>) -> [Double] {
        var centrality = [Double](repeating: 0, count: n)
        var sigma = [Double](repeating: 0, count: n)
        var delta = [Double](repeating: 0, count: n)
        var distance = [Int32](repeating: -1, count: n)
        var order = [Int32](repeating: 0, count: n)
        for source in sources {
            // Breadth-first search from `source`, counting shortest paths; `order` doubles as the queue.
            sigma[source] = 1
            distance[source] = 0
            order[0] = Int32(source)
            var head = 0
            var tail = 1
            while head < tail {
                let v = Int(order[head])
                head += 1
                let next = distance[v] + 1
                for index in Int(offsets[v])..<Int(offsets[v + 1]) {
                    let w = Int(targets[index])
                    if distance[w] < 0 {
                        distance[w] = next
                        order[tail] = Int32(w)
                        tail += 1
                    }
                    if distance[w] == next { sigma[w] += sigma[v] }
                }
            }
            // Dependencies in reverse BFS order: each v passes σ(v)/σ(w)·(1+δ(w)) back from its successors.
            var position = tail - 1
            while position >= 0 {
                let v = Int(order[position])
                position -= 1
                let next = distance[v] + 1
                var sum = 0.0
                for index in Int(offsets[v])..<Int(offsets[v + 1]) {
                    let w = Int(targets[index])
                    if distance[w] == next { sum += (1 + delta[w]) / sigma[w] }
                }
                delta[v] = sigma[v] * sum
                if v != source { centrality[v] += delta[v] }
            }
            for position in 0..<tail {
                let v = Int(order[position])
                sigma[v] = 0
                delta[v] = 0
                distance[v] = -1
            }
        }
        return centrality
    }
}

/// The directed graph of the window: parties with a referral created in the window, and per
/// ordered pair the number of such referrals.
public struct WindowGraph: Sendable {
    public var parties: [String]
    public var index: [String: Int]
    public var edges: [(from: Int, to: Int)]
    /// Referrals created in the window per edge, aligned with `edges`.
    public var counts: [Int]

    public init(_ model: ChainModel, window: AnalysisWindow) {
        var pairCounts: [PartyPair: Int] = [:]
        var names = Set<String>()
        for referral in model.referrals.values where window.contains(referral.created) {
            pairCounts[PartyPair(from: referral.from, to: referral.to), default: 0] += 1
            names.insert(referral.from)
            names.insert(referral.to)
        }
        parties = names.sorted()
        var index: [String: Int] = [:]
        for (position, party) in parties.enumerated() { index[party] = position }
        self.index = index
        let sortedPairs = pairCounts.sorted { ($0.key.from, $0.key.to) < ($1.key.from, $1.key.to) }
        edges = sortedPairs.map { (index[$0.key.from]!, index[$0.key.to]!) }
        counts = sortedPairs.map(\.value)
    }
}

public struct PartyPair: Hashable, Sendable {
    public var from: String
    public var to: String

    public init(from: String, to: String) {
        self.from = from
        self.to = to
    }
}

/// The processor count without Foundation: sysconf on Linux, one worker elsewhere.
enum ProcessInfoLite {
    static var activeProcessorCount: Int {
        #if canImport(Glibc)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 1
        #endif
    }
}
#if canImport(Glibc)
import Glibc
#endif
