import Foundation
import LangID

/// A one-line progress bar on standard error (epoch, bar, running loss, samples per second),
/// redrawn with `\r` only when `terminal` is true (standard error is a terminal: `isatty`). In a
/// log, only one line per finished epoch is printed, on standard output.
final class ProgressBar {
    let terminal: Bool
    private var lastDrawn = -1
    /// Where epoch lines go when not on a terminal (standard output by default; tests collect them).
    var printLine: (String) -> Void = { print($0) }
    init(terminal: Bool) { self.terminal = terminal }

    func update(_ p: TrainingProgress) {
        let total = p.epochs * p.stepsPerEpoch, done = p.epoch * p.stepsPerEpoch + p.step
        let permille = done * 1000 / Swift.max(total, 1)
        let endOfEpoch = p.step == p.stepsPerEpoch
        guard permille / 5 != lastDrawn || endOfEpoch else { return }
        lastDrawn = permille / 5
        let width = 30, filled = width * done / Swift.max(total, 1)
        let line = String(format: "epoch %d/%d [%@%@] %5.1f%%  loss %.4f  %6.0f samples/s  %5.1f s",
                          p.epoch + 1, p.epochs, String(repeating: "#", count: filled), String(repeating: ".", count: width - filled),
                          Double(permille) / 10, p.loss, p.samplesPerSecond, p.elapsed)
        if terminal {
            FileHandle.standardError.write(Data(("\r" + line).utf8))
            if endOfEpoch { FileHandle.standardError.write(Data("\n".utf8)) }
        } else if endOfEpoch {
            printLine(line)
        }
    }
}

