// The engine state machine in words: the sidebar's short line and the longer description.
export const engineState = {
  running: "Engine running",
  stopped: "Engine stopped",
  stopping: "Engine stopping…",
  paused: "Engine paused",
  starting: "Engine starting…",
  unreachable: "Engine unreachable",
  needsProgram: "Engine needs a program",
  error: "Engine error",
  pausedLong: "Engine paused by Resource Saver: the next docker command wakes it",
  startingPhase: "Engine starting ({phase})…",
  cannotStart: "Cannot start the engine: {message}",
  errorLong: "Engine error: {message}",
  phaseBootingVm: "booting vm",
  phaseWaitingForAgent: "waiting for agent",
  phaseWaitingForEngine: "waiting for engine",
} as const;
