/// A learning rate as a function of the epoch (or step) count, PyTorch's `lr_scheduler` in closed
/// form: `learningRate(at: e, base:)` is the rate PyTorch's scheduler gives after `e` calls to
/// `step()`, for an optimizer created with `base`. Schedules are values; a ``LearningRateScheduler``
/// applies one to an optimizer, and ``SequentialLR`` (or ``then(_:at:)``) chains them.
///
/// ```swift
/// let schedule = LinearLR(startFactor: 0.1, totalIters: 100).then(try CosineAnnealingLR(tMax: 900), at: 100)
/// let scheduler = LearningRateScheduler(optimizer, schedule: schedule)
/// // each step: try optimizer.step(); scheduler.step()
/// ```
public protocol LearningRateSchedule: Sendable {
    /// The learning rate after `epoch` scheduler steps (0: the first), starting from `base`.
    func learningRate(at epoch: Int, base: Float) -> Float
}

extension LearningRateSchedule {
    /// This schedule until `milestone`, then `next` counted from 0 at `milestone` (PyTorch's
    /// `SequentialLR([self, next], milestones=[milestone])`), e.g. a linear warm-up then a cosine decay.
    public func then(_ next: any LearningRateSchedule, at milestone: Int) -> SequentialLR {
        if let chain = self as? SequentialLR, let last = chain.milestones.last, milestone > last {
            return SequentialLR(uncheckedSchedules: chain.schedules + [next], milestones: chain.milestones + [milestone])
        }
        return SequentialLR(uncheckedSchedules: [self, next], milestones: [milestone])
    }
}
