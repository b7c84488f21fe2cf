import type { Translation } from "../types";
import type { engine as en } from "../en/engine";

export const engine: Translation<typeof en> = {
  title: "エンジン",
  since: "{time} から",
  versionsWhileRunning: "バージョンとディスク使用量は、エンジンの実行中に表示されます。",
  prunedContainers: { other: "{count} 個のコンテナを削除し、{size} を解放しました。" },
  prunedImages: { other: "{count} 個のイメージを削除し、{size} を解放しました。" },
  prunedVolumes: { other: "{count} 個のボリュームを削除し、{size} を解放しました。" },
  versions: "バージョン",
  dockerEngine: "Docker エンジン",
  apiVersions: "API {negotiated} (エンジン {engine})",
  operatingSystem: "オペレーティングシステム",
  archKernel: "{arch} · カーネル {kernel}",
  resources: "リソース",
  cpus: { other: "CPU {count} 個" },
  memoryTotal: "メモリ {size}",
  hostMemory: "このコンピューターで {size} 使用中",
  hostMemoryTitle: "VM が現在使っている、このコンピューターのメモリ。コンテナが解放したメモリはコンピューターに戻ります",
  diskUsage: "ディスク使用量",
  usage: "全 {total} · 使用中 {active} · 解放可能 {reclaimable}",
  quitTitle: "Berth を終了",
  quitQuestion: "Berth のエンジンはまだ実行中です。今すぐ停止しますか？それとも、コンテナが動き続けるようにバックグラウンドで実行したままにしますか？(あとで <code>berth stop</code> で停止できます。)",
  remember: "この選択を記憶する (設定で変更できます)",
  keepAndQuit: "実行したまま終了",
  stopAndQuit: "エンジンを停止して終了",
};
