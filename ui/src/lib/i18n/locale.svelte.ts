// Which language the dashboard speaks now: the `app.language` setting ("system", "en", "ja"),
// with "system" following the window's language (navigator.language: ja* is Japanese, anything
// else English). Kept in localStorage too, so the next start shows the right words before the
// settings are read.

export type Locale = "en" | "ja";
export type LanguageChoice = "system" | Locale;

const STORAGE_KEY = "berth.language";

/** The window's own language (the system's, in the app). */
export function systemLocale(language = typeof navigator !== "undefined" ? navigator.language : ""): Locale {
  return (language ?? "").toLowerCase().startsWith("ja") ? "ja" : "en";
}

/** A setting's value as a choice; anything unknown is "system". */
export function toChoice(value: string | null | undefined): LanguageChoice {
  return value === "en" || value === "ja" ? value : "system";
}

export function resolveLocale(choice: LanguageChoice, system: Locale = systemLocale()): Locale {
  return choice === "system" ? system : choice;
}

function savedChoice(): LanguageChoice {
  try {
    return toChoice(typeof localStorage !== "undefined" ? localStorage.getItem(STORAGE_KEY) : null);
  } catch {
    return "system";
  }
}

const initial = savedChoice();

/** Read by `t` and the formatters, so whatever shows text follows a change at once. */
export const i18n = $state<{ choice: LanguageChoice; locale: Locale }>({ choice: initial, locale: resolveLocale(initial) });

function markDocument() {
  // The document's language picks the Japanese glyphs of CJK fonts (and screen readers' voices).
  if (typeof document !== "undefined") document.documentElement.lang = i18n.locale;
}
markDocument();

/** Applies the `app.language` setting (after it is loaded or saved). */
export function setLanguage(value: string | null | undefined): void {
  i18n.choice = toChoice(value);
  i18n.locale = resolveLocale(i18n.choice);
  try {
    if (typeof localStorage !== "undefined") localStorage.setItem(STORAGE_KEY, i18n.choice);
  } catch {
    // No storage (private mode): the setting is read again at the next start anyway.
  }
  markDocument();
}
