// The Learn page's state: the lessons, and the one in progress (its step and that step's report).
import { backend, errorCode, errorMessage } from "../lib/backend";
import type { LearnLesson, LearnReport, LearnStep } from "../lib/generated";

export class Learn {
  lessons = $state<LearnLesson[]>([]);
  /** The lesson in progress (null: the list is shown). */
  lesson = $state<LearnLesson | null>(null);
  /** The step about to run or just run; null once the lesson is done. */
  step = $state<LearnStep | null>(null);
  report = $state<LearnReport | null>(null);
  busy = $state<"start" | "run" | "next" | "leave" | null>(null);
  error = $state<string | null>(null);
  /** What leaving the last lesson removed. */
  left = $state<string | null>(null);

  /** Loads the list and picks up a lesson left in progress (e.g. after another page). */
  async load() {
    try {
      this.lessons = await backend().learnLessons();
      const step = await backend().learnStep().catch((e) => {
        if (errorCode(e) === "not_found") return undefined;
        throw e;
      });
      if (step) {
        this.lesson = this.lessons.find((l) => l.id === step.lesson) ?? null;
        this.step = step;
      }
    } catch (e) {
      this.error = errorMessage(e);
    }
  }

  private async act(busy: NonNullable<Learn["busy"]>, f: () => Promise<void>) {
    this.busy = busy;
    this.error = null;
    try {
      await f();
    } catch (e) {
      this.error = errorMessage(e);
    } finally {
      this.busy = null;
    }
  }

  open(lesson: LearnLesson, params: Record<string, string> = {}) {
    return this.act("start", async () => {
      this.left = null;
      this.report = null;
      this.step = await backend().learnStart(lesson.id, params);
      this.lesson = lesson;
    });
  }

  run() {
    return this.act("run", async () => {
      this.report = await backend().learnRunStep();
    });
  }

  next() {
    return this.act("next", async () => {
      this.step = await backend().learnStep();
      this.report = null;
    });
  }

  /** Leaves (or finishes) the lesson: everything it made is removed. */
  leave() {
    return this.act("leave", async () => {
      const left = await backend().learnLeave();
      this.left = [left.removed, ...left.problems].filter(Boolean).join(" ");
      this.lesson = null;
      this.step = null;
      this.report = null;
    });
  }
}
