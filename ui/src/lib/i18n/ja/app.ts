import type { Translation } from "../types";
import type { app as en } from "../en/app";

export const app: Translation<typeof en> = {
  sections: "セクション",
  navContainers: "コンテナ",
  navImages: "イメージ",
  navVolumes: "ボリューム",
  navNetworks: "ネットワーク",
  navCompose: "Compose",
  navHub: "Hub",
  navLearn: "学ぶ",
  navSwarm: "Swarm",
  navEngines: "エンジン一覧",
  navEngine: "エンジン",
  navSettings: "設定",
  navTroubleshoot: "トラブルシューティング",
  startEngine: "エンジンを起動",
  pageDidNotLoad: "このページを読み込めませんでした: {error}。別のセクションを開いてから戻ると、もう一度読み込みます。",
  windowFailed: "Berth のウィンドウを開けませんでした:",
};
