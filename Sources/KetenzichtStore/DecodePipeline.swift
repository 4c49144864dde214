import KetenzichtCore
import KetenzichtIngest

/// Decoded records on their way from a decoding thread to the model's, a few thousand at a time.
protocol DecodedChunk: Sendable {
    /// `id` tells chunks apart (a store batch keeps references to their buffers).
    init(id: Int)
    var count: Int { get }
    /// The last chunk of a block: the next comes from the next decoding thread.
    var endsBlock: Bool { get set }
    mutating func append(_ record: consuming DecodeRecord)
}

/// Decoding on background threads, ahead of the model, in input order. Decoding an event costs
/// about what applying it does, so a CloudEvents file of lines is decoded by `threads` threads in
/// alternate ~1 MiB blocks (`CloudEventsDecoder.decode(path:part:of:…)`), and the model takes
/// their blocks in turn; any other input by one thread. Each thread runs a bounded number of
/// chunks ahead, so memory stays flat whatever the input's size.
enum DecodePipeline {
    static let threads = 2
    static let chunkSize = 2048

    /// Calls `body` on the calling thread with every chunk of `input`, in input order, and
    /// returns when all decoding threads are done.
    static func run<Chunk: DecodedChunk>(_ decoder: any EventDecoder, _ input: IngestInput, progress: DecodeProgress?,
                                         as _: Chunk.Type, _ body: (inout Chunk) -> Void) {
        let workers: Int
        let share: @Sendable (Int, (consuming DecodeRecord) -> Void, () -> Void) -> Void
        if case .file(let path) = input, let lines = decoder as? CloudEventsDecoder {
            workers = threads
            share = { part, sink, endOfBlock in lines.decode(path: path, part: part, of: workers, progress: progress, sink: sink, endOfBlock: endOfBlock) }
        } else {
            workers = 1
            share = { _, sink, endOfBlock in
                decoder.decode(input, progress: progress, sink: sink)
                endOfBlock()
            }
        }
        let pipes = (0..<workers).map { _ in BoundedPipe<Chunk>(capacity: 8) }
        for part in 0..<workers {
            let pipe = pipes[part]
            BackgroundThread.start(name: "ketenzicht.decode") {
                // Ids unique across the threads: the k-th chunk of thread `part`.
                var made = 0
                func fresh() -> Chunk {
                    defer { made += 1 }
                    return Chunk(id: made * workers + part)
                }
                var chunk = fresh()
                share(part, { (record: consuming DecodeRecord) in
                    chunk.append(record)
                    if chunk.count == chunkSize {
                        pipe.put(chunk)
                        chunk = fresh()
                    }
                }, {
                    chunk.endsBlock = true
                    pipe.put(chunk)
                    chunk = fresh()
                })
                pipe.close()
            }
        }
        var part = 0
        while var chunk = pipes[part].take() {
            let endsBlock = chunk.endsBlock
            body(&chunk)
            if endsBlock { part = (part + 1) % workers }
        }
        // The thread with the next block has none: the input is done, and so are the others.
        for pipe in pipes { while pipe.take() != nil {} }
    }
}
