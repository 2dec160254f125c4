import EmbeddingKit
import Foundation
import Testing
@testable import LangID

/// `QuantizedLangIDModel` (issue 18, the demo item): made from a model trained on the mini corpus
/// (`LangIDModelTests.setup()`), it predicts what the float model predicts, survives its file, and
/// float-only loads refuse its file naming the format.
@Suite("Quantized language-ID model")
struct QuantizedLangIDModelTests {
    /// One trained float model for the suite's tests (4 epochs on the mini corpus: about a second);
    /// they only read it.
    nonisolated(unsafe) static let trained: Result<(LangIDModel, LangIDModelTests.Setup), any Error> = Result {
        let s = try LangIDModelTests.setup()
        let model = try trainLangID(s.configuration, features: s.features, labels: s.labels, options: LangIDModelTests.options()).model
        model.eval()
        return (model, s)
    }

    static func temporaryFolder() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("langid-q-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The test split's texts in full and cut to 40 characters (where short texts flip first).
    static func texts(_ s: LangIDModelTests.Setup) -> [String] {
        s.corpus.test.map(\.text) + s.corpus.test.map { shortVariant(of: $0.text, maxCharacters: 40) }
    }

    /// The 8-bit model predicts the float model's language for at least 98 % of the 236 texts (the
    /// test split in full and cut to 40 characters). Why that threshold: an 8-bit element is off by
    /// at most half a step, (max - min) / 510 of its row (checked below against the model's own
    /// largest weight); a bag vector is a frequency-weighted mean of such rows, so its error is as
    /// small, and a prediction can change only where the float model's two best logits are nearly
    /// tied — a handful of texts at most (2 % is 4 of them), while a broken table or a wrong row
    /// order flips a large share. Seen: all 236 agree, at 8 and at 4 bits. The 4-bit model (15 steps
    /// a row, 17 times coarser) must agree on 95 %.
    @Test func eightBitPredictionsAgreeWithFloat32() throws {
        let (model, s) = try Self.trained.get()
        let texts = Self.texts(s)
        let reference = try LangIDPredictor(model).predict(texts)
        for (bits, share) in [(8, 0.98), (4, 0.95)] {
            let q = try QuantizedLangIDModel(model, bits: bits)
            let predicted = try LangIDPredictor(q).predict(texts)
            let agree = Double(zip(reference, predicted).filter { $0 == $1 }.count) / Double(texts.count)
            #expect(agree >= share, "\(bits) bits: \(agree * 100) % of \(texts.count) predictions agree")
            // the error bound of the format: half a step of the row's range (2 x max |w| at most)
            #expect(q.quantizationErrors.count == 3)
            for (e, table) in zip(q.quantizationErrors, model.embeddings) {
                let maxWeight = Double(table.weight.scalars.map(abs).max()!)
                #expect(e.maxAbsoluteValue == maxWeight)
                let steps = Double((1 << bits) - 1)
                // 4 bits: the bias is rounded to fp16 too (2^-11 relative), and the scale (1 step x 2^-11 x 15)
                let slack = bits == 8 ? 1e-6 : 2 * maxWeight / steps * 15 / 2048 + maxWeight / 2048
                #expect(e.maxAbsolute <= 2 * maxWeight / steps / 2 + slack, "\(bits) bits: max error \(e.maxAbsolute), max |w| \(maxWeight)")
                #expect(e.rms > 0 && e.rms <= e.maxAbsolute)
            }
        }
    }

    /// The forward is the float model's over the dequantized tables: same logits bit for bit (the
    /// library's quantized bag equals the float bag over `dequantized()`; the dense layers are copies).
    @Test func forwardIsTheFloatModelOverTheDequantizedTables() throws {
        let (model, s) = try Self.trained.get()
        let q = try QuantizedLangIDModel(model, bits: 4)
        var state = model.stateDict()
        for (i, table) in q.embeddings.enumerated() { state["embeddings.\(i).weight"] = table.dequantized() }
        let float = try LangIDModel(model.configuration)
        try float.loadStateDict(state)
        float.eval()
        var batch = FeatureBatch()
        try s.configuration.featurizer.batch(Array(Self.texts(s).prefix(40)), into: &batch)   // featurizer: a throwing property
        #expect(try q.logits(batch).scalars.map(\.bitPattern) == float(batch).scalars.map(\.bitPattern))
    }

    /// The dense layers are copies: changing the float model afterwards (training on) leaves the
    /// quantized model as it was.
    @Test func denseLayersAreCopies() throws {
        let model = try LangIDModel(LangIDConfiguration(orders: [1], buckets: [4], dimensions: [2], hidden: 3, languages: ["a", "b"]))
        let q = try QuantizedLangIDModel(model, bits: 8)
        let before = q.hidden.weight.scalars + q.output.bias!.scalars
        #expect(before == model.hidden.weight.scalars + model.output.bias!.scalars)
        var state = model.stateDict()
        state["hidden.weight"] = Tensor.zeros([3, 2])
        state["output.bias"] = Tensor.zeros([2])
        try model.loadStateDict(state)
        #expect(model.hidden.weight.scalars == [0, 0, 0, 0, 0, 0])
        #expect(q.hidden.weight.scalars + q.output.bias!.scalars == before)
    }

    /// Saved and read back (directly and through `loadLangIDClassifier`), the model has the same
    /// configuration, the same packed bytes and the same probabilities; the file is about the size
    /// the format says (24-byte rows at 8 bits, 8 + 4 at 4 bits, for width 8).
    @Test(arguments: [8, 4, 2]) func fileRoundTrip(bits: Int) throws {
        let (model, s) = try Self.trained.get()
        let dir = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let q = try QuantizedLangIDModel(model, bits: bits)
        let path = dir + "/q.safetensors"
        try q.save(to: path)
        let loaded = try QuantizedLangIDModel.load(from: path)
        #expect(loaded.configuration == model.configuration)
        #expect(loaded.embeddings.map(\.packedBytes) == q.embeddings.map(\.packedBytes))
        #expect(loaded.embeddings.map(\.format) == Array(repeating: try QuantizedFormat(bits: bits), count: 3))
        let texts = Array(Self.texts(s).prefix(30))
        #expect(try LangIDPredictor(loaded).probabilities(texts) == LangIDPredictor(q).probabilities(texts))
        let either = try loadLangIDClassifier(from: path)
        #expect(either is QuantizedLangIDModel)
        #expect(try LangIDPredictor(either).probabilities(texts) == LangIDPredictor(q).probabilities(texts))

        // rows: 512 + 2048 + 4096 of width 8; packed: 8 bits 8 + 8 bytes, 4 bits 4 + 4, 2 bits 2 + 4
        let rowBytes = [8: 16, 4: 8, 2: 6][bits]!
        let dense = (16 * 24 + 16 + 5 * 16 + 5) * 4
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        #expect(size > 6656 * rowBytes + dense && size < 6656 * rowBytes + dense + 1024, "\(size) bytes")
    }

    /// Float-only paths (`LangIDModel.load`: training, quantizing) refuse a quantized file naming
    /// its format, before reading its tensors; `QuantizedLangIDModel.load` refuses a float file;
    /// `loadLangIDClassifier` reads both.
    @Test func floatOnlyLoadsRefuseAQuantizedFile() throws {
        let (model, _) = try Self.trained.get()
        let dir = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let quantized = dir + "/q.safetensors", float = dir + "/f.safetensors"
        try QuantizedLangIDModel(model, bits: 8).save(to: quantized)
        try model.save(to: float)
        #expect { _ = try LangIDModel.load(from: quantized) } throws: { error in
            let m = "\(error)"
            return m.contains(quantized) && m.contains("a quantized language-ID model (format 'embedkit-langid-quantized-1', "
                                                       + "tables rowwise_q8,rowwise_q8,rowwise_q8)") && m.contains("needs the float32 model")
        }
        #expect { _ = try QuantizedLangIDModel.load(from: float) } throws: { "\($0)".contains("a float32 language-ID model, not a quantized one") }
        #expect(try loadLangIDClassifier(from: float) is LangIDModel)
    }

    /// A damaged quantized file is refused naming what is wrong: an unknown table format, the
    /// wrong number of formats, a table that is not U8, a cut file, a non-finite scale.
    @Test func damagedQuantizedFilesAreRefused() throws {
        let (model, _) = try Self.trained.get()
        let dir = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let q = try QuantizedLangIDModel(model, bits: 8)
        let path = dir + "/q.safetensors"
        try q.save(to: path)
        let good = try Data(contentsOf: URL(fileURLWithPath: path))

        func refused(_ bytes: Data, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let bad = dir + "/bad.safetensors"
            try bytes.write(to: URL(fileURLWithPath: bad))
            #expect(sourceLocation: sourceLocation) { _ = try loadLangIDClassifier(from: bad) } throws: { error in
                "\(error)".contains(bad) && "\(error)".contains(message)
            }
        }
        func replacing(_ old: String, _ new: String) -> Data {
            precondition(old.utf8.count == new.utf8.count)
            // searched as bytes: the header length before the header may not be UTF-8
            let head = Array(good.prefix(8 + 4096)), pattern = Array(old.utf8)
            let start = (0...(head.count - pattern.count)).first { Array(head[$0 ..< $0 + pattern.count]) == pattern }!
            var out = good
            out.replaceSubrange(start..<(start + old.utf8.count), with: Array(new.utf8))
            return out
        }
        try refused(replacing("rowwise_q8,rowwise_q8,rowwise_q8", "rowwise_q8,rowwise_q9,rowwise_q8"),
                    "metadata 'table_formats': 'rowwise_q9' at position 1 is not one of rowwise_q8, rowwise_q4, rowwise_q2")
        try refused(replacing("rowwise_q8,rowwise_q8,rowwise_q8", "rowwise_q8;rowwise_q8;rowwise_q8"),
                    "metadata 'table_formats' has 1 values for 3 n-gram orders")
        try refused(replacing("\"dtype\":\"U8\"", "\"dtype\":\"I8\""), "tensor 'embeddings.0.weight' is I8, not U8")
        try refused(good.prefix(good.count - 1), "bytes, but the header and its tensors make")
        // table 1, row 0's float32 scale (after its 8 codes) set to NaN; the table's place from the header
        let header = Int(good.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        let entries = try #require(try JSONSerialization.jsonObject(with: good[8 ..< 8 + header]) as? [String: Any])
        let table1 = try #require((entries["embeddings.1.weight"] as? [String: Any])?["data_offsets"] as? [Int])[0]
        var nan = good
        nan.replaceSubrange((8 + header + table1 + 8)..<(8 + header + table1 + 12), with: [0, 0, 0xC0, 0x7F])
        try refused(nan, "row 0")
    }

    /// A save that cannot happen throws `io` naming the path, and leaves what was there: a missing
    /// folder, a folder in the file's place, an existing file when the folder is gone from under it.
    @Test func aFailedSaveThrowsAndKeepsWhatWasThere() throws {
        let (model, _) = try Self.trained.get()
        let dir = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let q = try QuantizedLangIDModel(model, bits: 8)
        #expect { try q.save(to: dir + "/missing/q.safetensors") } throws: { error in
            (error as? EmbeddingKitError)?.kind == .io && "\(error)".contains("cannot save '\(dir)/missing/q.safetensors'")
        }
        try FileManager.default.createDirectory(atPath: dir + "/folder", withIntermediateDirectories: false)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir + "/folder/inside"))
        #expect { try q.save(to: dir + "/folder") } throws: { "\($0)".contains("cannot save '\(dir)/folder'") }
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/folder/inside")) == Data([1, 2, 3]))
    }

    /// Bits other than 8, 4, 2 are refused before anything is made.
    @Test func badBitsAreRefused() throws {
        let (model, _) = try Self.trained.get()
        #expect { _ = try QuantizedLangIDModel(model, bits: 3) } throws: { "\($0)".contains("bits=3 is not 8, 4 or 2") }
    }
}
