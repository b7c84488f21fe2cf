/**
 * The dashboard's words in English and Japanese (the tray's are in src-tauri/src/text.rs).
 *
 * How to add a string:
 *  1. Put the English in its section, `en/<section>.ts` (one file per page or area). English is
 *     the source of truth. Placeholders are `{name}`; when a count changes the wording, the
 *     message is a plural: `{ one: "{count} image", other: "{count} images" }`.
 *  2. Put the Japanese under the same key in `ja/<section>.ts`. Until it is there
 *     `npm run check` fails (each Japanese section is a `Translation` of the English one), and
 *     `i18n.test.ts` fails while it is empty, the same as the English (unless allow-listed there,
 *     like "CPU"), or uses other placeholders. Japanese plurals have only `other`.
 *  3. Show it with `t("section.key")` or `t("section.key", { name })`, in markup or in code.
 *     `t` reads the current language, so markup that calls it follows a switch at once; a text
 *     computed once and kept in a variable does not (keep the key, or compute it where shown).
 * A new section is a file in en/ and in ja/ and one line in each index.ts.
 *
 * Not translated: docker commands, data-testid values, and what the engine or the backend says
 * (container status lines, error messages from Rust).
 */
import { en } from "./en";
import { ja } from "./ja";
import { i18n, type Locale } from "./locale.svelte";
import type { Message, ParamsArg, Plural, Value } from "./types";

export { i18n, setLanguage, systemLocale, resolveLocale, toChoice, type Locale, type LanguageChoice } from "./locale.svelte";
export type { Plural } from "./types";

type En = typeof en;
type SectionName = keyof En & string;

/** Every message's key: `"section.key"`. */
export type Key = { [S in SectionName]: `${S}.${keyof En[S] & string}` }[SectionName];

/** The English message a key names (its placeholders type `t`'s parameters). */
export type MessageOf<K extends Key> = K extends `${infer S}.${infer N}`
  ? S extends SectionName ? (N extends keyof En[S] ? En[S][N] : never) : never
  : never;

/** Keys of messages without placeholders: a label chosen at run time (`t(label)`). */
export type PlainKey = { [K in Key]: ParamsArg<MessageOf<K>> extends [] ? K : never }[Key];

/** Each language by its own name, the same whatever the dashboard speaks (so not translated). */
export const LANGUAGE_NAMES: Record<Locale, string> = { en: "English", ja: "日本語" };

type Dictionary = Record<string, Record<string, Message>>;
export const dictionaries: Record<Locale, Dictionary> = { en, ja };

const pluralRules = new Map<Locale, Intl.PluralRules>();
function pluralForm(locale: Locale, m: Plural, count: Value | undefined): string {
  if (typeof count !== "number") return m.other;
  let rules = pluralRules.get(locale);
  if (!rules) pluralRules.set(locale, (rules = new Intl.PluralRules(locale)));
  const form = rules.select(count) as keyof Plural;
  return m[form] ?? m.other;
}

/** Fills `{name}` with its value; a placeholder without one stays as written. */
export function interpolate(text: string, params: Record<string, Value> = {}): string {
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/** The text of `key` in the current language (English when a translation is missing). */
export function t<K extends Key>(key: K, ...args: ParamsArg<MessageOf<K>>): string {
  return translate(i18n.locale, key, args[0] as Record<string, Value> | undefined);
}

/** Sentences one after another: a space between them in English, none in Japanese. */
export function sentences(...parts: string[]): string {
  return parts.filter(Boolean).join(i18n.locale === "ja" ? "" : " ");
}

/** The text of `key` in `locale`, whatever the current language is. */
export function translate(locale: Locale, key: Key, params?: Record<string, Value>): string {
  const dot = key.indexOf(".");
  const section = key.slice(0, dot);
  const name = key.slice(dot + 1);
  const m = dictionaries[locale][section]?.[name] ?? dictionaries.en[section]?.[name];
  if (m === undefined) return key;
  return interpolate(typeof m === "string" ? m : pluralForm(locale, m, params?.count), params);
}
