/// Applies a ``LearningRateSchedule`` to an optimizer, PyTorch's `scheduler.step()` loop: the
/// initialiser sets the optimizer's rate for epoch 0, and each `step()` advances one epoch (or one
/// step, however the schedule counts) and sets the next rate.
///
/// To resume a run, save `epoch` with the checkpoint and pass it back to `init`; the optimizer's own
/// state (``Optimizer/stateDict()``) carries the rate in force too.
public final class LearningRateScheduler {
    /// The optimizer whose `learningRate` is set.
    public let optimizer: any Optimizer
    /// The schedule.
    public let schedule: any LearningRateSchedule
    /// The rate the schedule starts from: the optimizer's rate when the scheduler was made, or the one given.
    public let baseLearningRate: Float
    /// The number of `step()` calls so far (PyTorch's `last_epoch`).
    public private(set) var epoch: Int

    /// Starts `schedule` at `epoch` (0 for a new run) from `baseLearningRate` (by default the
    /// optimizer's current rate), and sets the optimizer's rate to the schedule's value there.
    public init(_ optimizer: any Optimizer, schedule: any LearningRateSchedule, baseLearningRate: Float? = nil, epoch: Int = 0) {
        self.optimizer = optimizer
        self.schedule = schedule
        self.baseLearningRate = baseLearningRate ?? optimizer.learningRate
        self.epoch = Swift.max(epoch, 0)
        optimizer.learningRate = schedule.learningRate(at: self.epoch, base: self.baseLearningRate)
    }

    /// The rate in force, the optimizer's (PyTorch's `get_last_lr()`).
    public var learningRate: Float { optimizer.learningRate }

    /// Advances one epoch and sets the optimizer's rate for it.
    public func step() {
        epoch += 1
        optimizer.learningRate = schedule.learningRate(at: epoch, base: baseLearningRate)
    }
}
