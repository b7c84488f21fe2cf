import type { Translation } from "../types";
import type { networks as en } from "../en/networks";

export const networks: Translation<typeof en> = {
  title: "ネットワーク",
  count: { other: "{count} 個のネットワーク" },
  createBridge: "ブリッジネットワークを作成",
  createTitle: "ブリッジネットワークの作成",
  badName: "名前を入力してください: 英数字と '_'、'.'、'-' が使えます。",
  exists: "{name} という名前のネットワークはすでにあります。",
  subnet: "サブネット",
  builtIn: "組み込み",
  scope: "スコープ",
  internal: "内部",
  attached: "接続中のコンテナ",
  disconnect: "切断",
  containerToConnect: "接続するコンテナ",
  chooseContainer: "コンテナを選択…",
  connect: "接続",
  deleteTitle: "ネットワークを削除しますか？",
  deleteMessage: "{name} を削除しますか？",
};
