/// <reference types="vite/client" />
// Every word a component shows comes from the dictionaries: this fails on English written
// straight into a component's markup (text, or an aria-label/title/placeholder/alt), which
// would stay English in Japanese. Expressions (`{...}`) are not read; their strings are `t(...)`.
import { describe, expect, it } from "vitest";

/** Every component's source, by path from src/. */
const SOURCES = Object.entries(import.meta.glob<string>("../../**/*.svelte", { query: "?raw", import: "default", eager: true }))
  .map(([path, source]) => [path.replace(/^(\.\.\/)+/, ""), source] as const);
/** Words that are the same in every language: names, units, commands. */
const ALLOWED = new Set(["Berth", "MiB", "GiB", "sh", "bash", "ash"]);
const SHOWN_ATTRIBUTES = ["aria-label", "title", "placeholder", "alt"];

/** The index after the `{...}` that opens at `i` (nested braces and quoted strings skipped). */
function skipExpression(s: string, i: number): number {
  let depth = 0;
  for (; i < s.length; i++) {
    const c = s[i];
    if (c === "\"" || c === "'" || c === "`") {
      const q = c;
      for (i++; i < s.length && s[i] !== q; i++) if (s[i] === "\\") i++;
    } else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i + 1;
  }
  return i;
}

/** The markup's visible text and the values of its shown attributes, expressions removed. */
function shownTexts(source: string): string[] {
  const s = source.replace(/<script[\s\S]*?<\/script>|<style[\s\S]*?<\/style>|<!--[\s\S]*?-->/g, "");
  const out: string[] = [];
  let text = "";
  for (let i = 0; i < s.length; ) {
    const c = s[i];
    if (c === "{") { i = skipExpression(s, i); text += " "; continue; }
    if (c === "<" && /[a-zA-Z/!]/.test(s[i + 1] ?? "")) {
      out.push(text);
      text = "";
      let tag = "";
      for (i++; i < s.length && s[i] !== ">"; ) {
        if (s[i] === "{") { i = skipExpression(s, i); tag += "{}"; continue; }
        if (s[i] === "\"" || s[i] === "'") {
          const q = s[i];
          const end = s.indexOf(q, i + 1);
          tag += s.slice(i, end + 1);
          i = end + 1;
          continue;
        }
        tag += s[i++];
      }
      i++;
      for (const a of SHOWN_ATTRIBUTES) {
        const m = tag.match(new RegExp(`\\s${a}="([^"]*)"`));
        if (m) out.push(m[1].replace(/\{\}/g, " "));
      }
      continue;
    }
    text += c;
    i++;
  }
  out.push(text);
  return out;
}

/** Words of prose; a token with digits, paths or dots in it (`alpine:3.20`, `~/data.tar.gz`,
 * `my-net`) is an example value, the same in every language. */
function englishWords(text: string): string[] {
  return text.split(/[\s()“”"]+/).map((w) => w.replace(/[.,:;!?…]+$/, ""))
    .filter((w) => /^[A-Za-z][A-Za-z'’]+$/.test(w) && !ALLOWED.has(w));
}

describe("components", () => {
  it("show no English written into their markup", () => {
    const found: string[] = [];
    expect(SOURCES.length).toBeGreaterThan(30);
    for (const [file, source] of SOURCES) {
      for (const text of shownTexts(source)) {
        if (englishWords(text).length) found.push(`${file}: "${text.trim().replace(/\s+/g, " ")}"`);
      }
    }
    expect(found).toEqual([]);
  });

  it("the check sees text, shown attributes and nothing inside expressions", () => {
    const sample = `<script>let a = "Hidden";</script>
      <button title="Delete it" data-testid="x" onclick={() => go("Nope")}>{t("k")} Start</button>
      <p>{#if a}{"Also hidden"}{/if}</p><style>p { color: red; }</style>`;
    expect(shownTexts(sample).flatMap(englishWords)).toEqual(["Delete", "it", "Start"]);
  });
});
