import { afterEach, describe, expect, it } from "vitest";
import { dictionaries, i18n, interpolate, resolveLocale, sentences, setLanguage, systemLocale, t, translate, type Key } from ".";
import type { Message } from "./types";

/** Keys whose Japanese is rightly the same as the English: names and words Japanese
 * developers use as they are. Anything else identical is an untranslated string. */
const SAME_IN_JAPANESE = new Set<string>([
  "app.navCompose", // the feature's name, as in Docker's Japanese docs
  "app.navHub",
  "common.id",
  "common.cpu",
  "compose.title",
  "hub.title",
  "hub.dockerHub",
  "app.navSwarm", // Docker's Japanese docs keep "Swarm"
  "swarm.title",
]);

const forms = (m: Message): string[] => (typeof m === "string" ? [m] : [m.other, ...(m.one ? [m.one] : [])]);
const holes = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((x) => x[1]).sort();
const tags = (text: string) => [...text.matchAll(/<\/?(code|strong)>/g)].map((x) => x[0]);

/** Every English message with its key. */
function english(): [string, Message][] {
  return Object.entries(dictionaries.en).flatMap(([section, messages]) =>
    Object.entries(messages).map(([name, m]): [string, Message] => [`${section}.${name}`, m]));
}

describe("the Japanese dictionary", () => {
  it("has every English message, not empty and not left in English", () => {
    const problems: string[] = [];
    for (const [key, en] of english()) {
      const [section, name] = key.split(".");
      const ja = dictionaries.ja[section]?.[name];
      if (ja === undefined) { problems.push(`${key}: no Japanese`); continue; }
      if (typeof ja !== typeof en) { problems.push(`${key}: a plural in one language only`); continue; }
      const text = forms(ja)[0];
      if (!text.trim()) problems.push(`${key}: empty`);
      else if (text === forms(en)[0] && !SAME_IN_JAPANESE.has(key)) problems.push(`${key}: the same as the English ("${text}")`);
    }
    expect(problems).toEqual([]);
  });

  it("keeps each message's placeholders and markup", () => {
    const problems: string[] = [];
    for (const [key, en] of english()) {
      const [section, name] = key.split(".");
      const ja = dictionaries.ja[section]?.[name];
      if (ja === undefined) continue;
      const want = [...new Set(forms(en).flatMap(holes))].sort();
      for (const text of forms(ja)) {
        if (holes(text).join() !== want.join()) problems.push(`${key}: placeholders {${holes(text)}} instead of {${want}}`);
        if (tags(text).join() !== tags(forms(en)[0]).join()) problems.push(`${key}: markup ${tags(text)} instead of ${tags(forms(en)[0])}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("has no message the English lacks, and the allow-list names only identical ones", () => {
    const keys = new Set(english().map(([k]) => k));
    const extra = Object.entries(dictionaries.ja).flatMap(([s, m]) => Object.keys(m).map((n) => `${s}.${n}`)).filter((k) => !keys.has(k));
    expect(extra).toEqual([]);
    for (const key of SAME_IN_JAPANESE) expect(translate("ja", key as Key)).toBe(translate("en", key as Key));
  });
});

describe("t", () => {
  afterEach(() => setLanguage("system"));

  it("fills placeholders and picks the plural form", () => {
    expect(t("containers.counts", { running: 2, total: 5 })).toBe("2 running · 5 total");
    expect(t("volumes.count", { count: 1 })).toBe("1 volume");
    expect(t("volumes.count", { count: 3 })).toBe("3 volumes");
    expect(interpolate("{a} and {b}", { a: "x" })).toBe("x and {b}");
  });

  it("follows the language setting at once", () => {
    setLanguage("ja");
    expect(i18n.locale).toBe("ja");
    expect(document.documentElement.lang).toBe("ja");
    expect(t("volumes.count", { count: 1 })).toBe("1 個のボリューム");
    expect(t("app.navContainers")).toBe("コンテナ");
    expect(sentences("一つ目。", "", "二つ目。")).toBe("一つ目。二つ目。");
    setLanguage("en");
    expect(t("app.navContainers")).toBe("Containers");
    expect(sentences("One.", "", "Two.")).toBe("One. Two.");
    expect(localStorage.getItem("berth.language")).toBe("en");
  });

  it("'system' follows the window's language: ja* is Japanese, anything else English", () => {
    expect(systemLocale("ja-JP")).toBe("ja");
    expect(systemLocale("ja")).toBe("ja");
    expect(systemLocale("en-US")).toBe("en");
    expect(systemLocale("fr")).toBe("en");
    expect(resolveLocale("system", "ja")).toBe("ja");
    expect(resolveLocale("en", "ja")).toBe("en");
    setLanguage("klingon");
    expect(i18n.choice).toBe("system");
    expect(i18n.locale).toBe(systemLocale());
  });
});
