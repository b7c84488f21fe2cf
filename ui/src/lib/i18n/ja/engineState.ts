import type { Translation } from "../types";
import type { engineState as en } from "../en/engineState";

export const engineState: Translation<typeof en> = {
  running: "エンジン実行中",
  stopped: "エンジン停止",
  stopping: "エンジンを停止しています…",
  paused: "エンジン一時停止中",
  starting: "エンジンを起動しています…",
  unreachable: "エンジンに接続できません",
  needsProgram: "エンジンに必要なプログラムがありません",
  error: "エンジンエラー",
  pausedLong: "リソースセーバーがエンジンを一時停止しました: 次の docker コマンドで再開します",
  startingPhase: "エンジンを起動しています ({phase})…",
  cannotStart: "エンジンを起動できません: {message}",
  errorLong: "エンジンエラー: {message}",
  phaseBootingVm: "VM を起動中",
  phaseWaitingForAgent: "エージェントの応答待ち",
  phaseWaitingForEngine: "エンジンの応答待ち",
};
