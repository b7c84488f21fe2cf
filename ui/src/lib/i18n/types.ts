// The shapes of the dictionaries and of `t`'s arguments, derived from the English dictionary
// (the source of truth), so a key that does not exist or a placeholder left out is a type error.

/** A message whose wording depends on a number, `{count}`: the forms Intl.PluralRules names.
 * English needs `one` and `other`; Japanese has only `other`. */
export interface Plural {
  readonly one?: string;
  readonly other: string;
}

export type Message = string | Plural;
export type Section = Readonly<Record<string, Message>>;

/** Another language's version of a section: every key of the English one, nothing else. */
export type Translation<S extends Section> = { readonly [K in keyof S]: S[K] extends string ? string : Plural };

/** `{name}` placeholders of a text. */
type Holes<S> = S extends `${string}{${infer P}}${infer Rest}` ? P | Holes<Rest> : never;

/** The placeholders of a message; a plural always takes `count`. */
export type HolesOf<M> = M extends string ? Holes<M> : M extends Plural ? Holes<M["one"]> | Holes<M["other"]> | "count" : never;

export type Value = string | number;

/** `t`'s arguments after the key: none for a plain text, the values of its placeholders else. */
export type ParamsArg<M> = [HolesOf<M>] extends [never] ? [] : [params: Record<HolesOf<M>, Value>];
