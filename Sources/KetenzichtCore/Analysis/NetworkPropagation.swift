/// Waiting-time propagation across the network (SPEC §5, "Waiting-time propagation" 2).
///
/// For parties i, j: `out(i,j)` = referrals i→j created in the window, `in(i)` = referrals to i
/// created in the window, and `p(i→j) = out(i,j) / max(in(i), Σ_k out(i,k))` (the remainder leaves
/// the network). The expected time from entering at i to the end of the chain is
/// `T(i) = w(i) + Σ_j p(i→j)·T(j)`, with `w(i)` = expectedWaitDays of i (+∞ counts as 365). The
/// system is solved per strongly connected component, sinks first, cycles included. A closed class
/// (a cycle that nothing leaves) makes every party that can reach it `unbounded`.
/// What-if: "X waits Δ days more" changes T(i) by `N(i,X)·Δ` with `N = (I − P)⁻¹`, the expected
/// visits to X from i; "X gets capacity c" sets `w(X) = backlog(X) / c × 7`.
public struct NetworkPropagation: Sendable {
    public struct PartyTime: Sendable, Equatable {
        public var party: String
        /// w(i), in days.
        public var waitDays: Double
        /// T(i) in days; nil when unbounded.
        public var expectedDaysToEnd: Double?
        public var unbounded: Bool { expectedDaysToEnd == nil }
    }

    public let parties: [String]
    public let waits: [Double]
    /// T per party, nil where unbounded.
    public let times: [Double?]
    /// Closed classes: sets of parties that referrals circulate in without ever leaving.
    public let closedLoops: [[String]]
    private let index: [String: Int]
    private let rows: [[(to: Int, p: Double)]]
    private let components: [[Int]]
    private let unboundedNodes: [Bool]

    public init(_ model: ChainModel, window: AnalysisWindow, metrics: [PartyMetrics]) {
        self.init(graph: WindowGraph(model, window: window), model: model, window: window, waits: CaseProjection.waits(from: metrics))
    }

    init(graph: WindowGraph, model: ChainModel, window: AnalysisWindow, waits waitByParty: [String: Double]) {
        var names = Set(graph.parties)
        names.formUnion(waitByParty.keys)
        let parties = names.sorted()
        var index: [String: Int] = [:]
        for (position, party) in parties.enumerated() { index[party] = position }
        let n = parties.count
        var inflow = [Int](repeating: 0, count: n)
        var outflow = [Int](repeating: 0, count: n)
        for (edge, count) in zip(graph.edges, graph.counts) {
            outflow[index[graph.parties[edge.from]]!] += count
            inflow[index[graph.parties[edge.to]]!] += count
        }
        var rows = [[(to: Int, p: Double)]](repeating: [], count: n)
        for (edge, count) in zip(graph.edges, graph.counts) {
            let from = index[graph.parties[edge.from]]!
            let to = index[graph.parties[edge.to]]!
            rows[from].append((to, Double(count) / Double(max(inflow[from], outflow[from]))))
        }
        self.init(parties: parties, waits: parties.map { waitByParty[$0] ?? 0 }, rows: rows, leaks: (0..<n).map { outflow[$0] < inflow[$0] || outflow[$0] == 0 })
    }

    /// The solver on an explicit routing matrix: `rows[i]` lists p(i→j) > 0, `leaks[i]` says whether
    /// some of i's flow leaves the network (row sum < 1). Exposed for tests against a dense solve.
    public init(parties: [String], waits: [Double], rows: [[(to: Int, p: Double)]], leaks: [Bool]) {
        self.parties = parties
        self.waits = waits
        self.rows = rows
        var index: [String: Int] = [:]
        for (position, party) in parties.enumerated() { index[party] = position }
        self.index = index
        let components = StronglyConnected.components(count: parties.count, successors: { rows[$0].map(\.to) })
        self.components = components
        var componentOf = [Int](repeating: 0, count: parties.count)
        for (number, members) in components.enumerated() { for v in members { componentOf[v] = number } }
        // Components come sinks first, so a component's exits are all decided before it.
        var unbounded = [Bool](repeating: false, count: parties.count)
        var closed: [[String]] = []
        for (number, members) in components.enumerated() {
            var exits = false
            var reachesUnbounded = false
            for v in members {
                for (to, _) in rows[v] where componentOf[to] != number {
                    exits = true
                    if unbounded[to] { reachesUnbounded = true }
                }
            }
            let hasInternalEdge = members.contains { v in rows[v].contains { componentOf[$0.to] == number } }
            let isClosed = hasInternalEdge && !exits && !members.contains { leaks[$0] }
            if isClosed { closed.append(members.map { parties[$0] }.sorted()) }
            if isClosed || reachesUnbounded { for v in members { unbounded[v] = true } }
        }
        self.unboundedNodes = unbounded
        self.closedLoops = closed.sorted { $0.first! < $1.first! }
        let solution = Self.solve(rhs: waits, rows: rows, components: components, componentOf: componentOf, unbounded: unbounded)
        self.times = (0..<parties.count).map { unbounded[$0] ? nil : solution[$0] }
    }

    public var partyTimes: [PartyTime] {
        parties.indices.map { PartyTime(party: parties[$0], waitDays: waits[$0], expectedDaysToEnd: times[$0]) }
    }

    public func time(of party: String) -> Double?? {
        index[party].map { times[$0] }
    }

    /// N(i, X) for every i: the expected number of visits to `party` starting from i.
    public func expectedVisits(to party: String) -> [Double?]? {
        guard let target = index[party] else { return nil }
        var rhs = [Double](repeating: 0, count: parties.count)
        rhs[target] = 1
        var componentOf = [Int](repeating: 0, count: parties.count)
        for (number, members) in components.enumerated() { for v in members { componentOf[v] = number } }
        let solution = Self.solve(rhs: rhs, rows: rows, components: components, componentOf: componentOf, unbounded: unboundedNodes)
        return (0..<parties.count).map { unboundedNodes[$0] ? nil : solution[$0] }
    }

    /// Solves (I − P)·x = rhs on the bounded parties, one component at a time, sinks first.
    private static func solve(rhs: [Double], rows: [[(to: Int, p: Double)]], components: [[Int]], componentOf: [Int], unbounded: [Bool]) -> [Double] {
        var x = [Double](repeating: 0, count: rhs.count)
        for (number, members) in components.enumerated() where !unbounded[members[0]] {
            let size = members.count
            var local: [Int: Int] = [:]
            for (position, v) in members.enumerated() { local[v] = position }
            var matrix = [Double](repeating: 0, count: size * size)
            var b = [Double](repeating: 0, count: size)
            for (row, v) in members.enumerated() {
                matrix[row * size + row] = 1
                b[row] = rhs[v]
                for (to, p) in rows[v] {
                    if componentOf[to] == number {
                        matrix[row * size + local[to]!] -= p
                    } else {
                        b[row] += p * x[to]
                    }
                }
            }
            let solved = size == 1 ? [b[0] / matrix[0]] : DenseSolver.solve(matrix: matrix, rhs: b, size: size)
            for (row, v) in members.enumerated() { x[v] = solved[row] }
        }
        return x
    }
}

/// The answer to a what-if question (SPEC §5): who is hit, by how much, and which cases.
public struct WhatIfAnswer: Sendable, Equatable {
    public struct AffectedParty: Sendable, Equatable {
        public var party: String
        public var expectedDaysToEnd: Double
        public var newExpectedDaysToEnd: Double
        public var changeDays: Double
    }

    public struct AffectedCase: Sendable, Equatable {
        public var caseID: String
        public var projectedCompletion: Timestamp
        public var newProjectedCompletion: Timestamp
        public var changeDays: Double
        public var newlyExceedsNorm: Bool
    }

    public var party: String
    /// Δ applied to w(X), in days (derived from the capacity when a capacity was given).
    public var extraWaitDays: Double
    public var capacityPerWeek: Double?
    public var waitDays: Double
    public var newWaitDays: Double
    public var affectedParties: [AffectedParty]
    /// Parties already unbounded: their time to the end stays undefined.
    public var unboundedParties: [String]
    public var affectedCases: [AffectedCase]
    public var casesNewlyOverNorm: [String]

    public enum Change: Sendable, Equatable {
        case extraWait(days: Double)
        case capacity(perWeek: Double)
    }

    public static func compute(_ model: ChainModel, window: AnalysisWindow, party: String, change: Change) -> WhatIfAnswer {
        let metrics = PartyMetrics.compute(model, window: window)
        let network = NetworkPropagation(model, window: window, metrics: metrics)
        var waits = CaseProjection.waits(from: metrics)
        let before = waits[party] ?? 0
        let after: Double
        var capacity: Double?
        switch change {
        case .extraWait(let days):
            after = before + days
        case .capacity(let perWeek):
            capacity = perWeek
            let backlog = Double(metrics.first { $0.party == party }?.backlog ?? 0)
            after = backlog == 0 ? 0 : (perWeek > 0 ? backlog / perWeek * 7 : infiniteWaitStandInDays)
        }
        let delta = after - before
        var affectedParties: [AffectedParty] = []
        var unbounded: [String] = []
        if let visits = network.expectedVisits(to: party) {
            for (position, name) in network.parties.enumerated() {
                guard let time = network.times[position], let visit = visits[position] else {
                    unbounded.append(name)
                    continue
                }
                let change = visit * delta
                if abs(change) > 1e-9 {
                    affectedParties.append(AffectedParty(party: name, expectedDaysToEnd: time, newExpectedDaysToEnd: time + change, changeDays: change))
                }
            }
        }
        affectedParties.sort { (abs($1.changeDays), $0.party) < (abs($0.changeDays), $1.party) }

        waits[party] = after
        let oldWaits = CaseProjection.waits(from: metrics)
        var affectedCases: [AffectedCase] = []
        var newlyOver: [String] = []
        let touched = Set(model.referrals.values.filter { $0.to == party && $0.state(asOf: window.asOf)?.isOpen == true }.map(\.caseID))
        for caseID in touched.sorted() {
            guard let old = CaseProjection.project(caseID: caseID, in: model, asOf: window.asOf, waits: oldWaits),
                  let new = CaseProjection.project(caseID: caseID, in: model, asOf: window.asOf, waits: waits),
                  let oldEnd = old.projectedCompletion, let newEnd = new.projectedCompletion, oldEnd != newEnd || old.exceedsNorm != new.exceedsNorm
            else { continue }
            let newly = new.exceedsNorm && !old.exceedsNorm
            if newly { newlyOver.append(caseID) }
            affectedCases.append(AffectedCase(caseID: caseID, projectedCompletion: oldEnd, newProjectedCompletion: newEnd, changeDays: newEnd.days(since: oldEnd), newlyExceedsNorm: newly))
        }
        return WhatIfAnswer(
            party: party, extraWaitDays: delta, capacityPerWeek: capacity, waitDays: before, newWaitDays: after,
            affectedParties: affectedParties, unboundedParties: unbounded, affectedCases: affectedCases, casesNewlyOverNorm: newlyOver)
    }
}

/// Tarjan's strongly connected components, iterative; components come out sinks first.
enum StronglyConnected {
    static func components(count: Int, successors: (Int) -> [Int]) -> [[Int]] {
        var indexOf = [Int](repeating: -1, count: count)
        var lowLink = [Int](repeating: 0, count: count)
        var onStack = [Bool](repeating: false, count: count)
        var stack: [Int] = []
        var result: [[Int]] = []
        var nextIndex = 0
        for root in 0..<count where indexOf[root] < 0 {
            var work: [(node: Int, successors: [Int], position: Int)] = [(root, successors(root), 0)]
            indexOf[root] = nextIndex
            lowLink[root] = nextIndex
            nextIndex += 1
            stack.append(root)
            onStack[root] = true
            while !work.isEmpty {
                let top = work.count - 1
                let node = work[top].node
                if work[top].position < work[top].successors.count {
                    let next = work[top].successors[work[top].position]
                    work[top].position += 1
                    if indexOf[next] < 0 {
                        indexOf[next] = nextIndex
                        lowLink[next] = nextIndex
                        nextIndex += 1
                        stack.append(next)
                        onStack[next] = true
                        work.append((next, successors(next), 0))
                    } else if onStack[next] {
                        lowLink[node] = min(lowLink[node], indexOf[next])
                    }
                } else {
                    work.removeLast()
                    if let parent = work.last?.node { lowLink[parent] = min(lowLink[parent], lowLink[node]) }
                    if lowLink[node] == indexOf[node] {
                        var component: [Int] = []
                        while true {
                            let member = stack.removeLast()
                            onStack[member] = false
                            component.append(member)
                            if member == node { break }
                        }
                        result.append(component)
                    }
                }
            }
        }
        return result
    }
}

/// Gaussian elimination with partial pivoting on a dense row-major matrix.
enum DenseSolver {
    static func solve(matrix: [Double], rhs: [Double], size n: Int) -> [Double] {
        var a = matrix
        var b = rhs
        for column in 0..<n {
            var pivot = column
            for row in (column + 1)..<max(column + 1, n) where abs(a[row * n + column]) > abs(a[pivot * n + column]) { pivot = row }
            if pivot != column {
                for k in 0..<n { a.swapAt(column * n + k, pivot * n + k) }
                b.swapAt(column, pivot)
            }
            let diagonal = a[column * n + column]
            guard diagonal != 0 else { continue }
            for row in (column + 1)..<max(column + 1, n) {
                let factor = a[row * n + column] / diagonal
                if factor == 0 { continue }
                for k in column..<n { a[row * n + k] -= factor * a[column * n + k] }
                b[row] -= factor * b[column]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for row in stride(from: n - 1, through: 0, by: -1) {
            var sum = b[row]
            for k in (row + 1)..<max(row + 1, n) { sum -= a[row * n + k] * x[k] }
            x[row] = sum / a[row * n + row]
        }
        return x
    }
}
