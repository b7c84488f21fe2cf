// The Learn part of the mock backend: two small fake lessons, stepped through in memory.
import type { LearnLeft, LearnLesson, LearnParam, LearnReport, LearnStep } from "../lib/generated";

interface FakeStep { title: string; what: string; why: string; command: string; output: string; checks: string[] }
interface FakeLesson { id: string; title: string; summary: string; params: LearnParam[]; steps: FakeStep[] }

const LESSONS: FakeLesson[] = [
  { id: "images", title: "Images and tags", summary: "Where an image comes from and what a tag names.", params: [], steps: [
    { title: "List the images", what: "Lists the images the engine holds.", why: "Every container starts from one.",
      command: "docker image ls", output: "berth-learn/base  latest  1a2b3c  1.2MB", checks: ["berth-learn/base:latest exists"] },
    { title: "Tag the image", what: "Gives the image a second name.", why: "A tag is only a name for the same image.",
      command: "docker tag berth-learn/base berth-learn/base:v1", output: "", checks: ["berth-learn/base:v1 exists", "both tags name one image"] },
  ] },
  { id: "registry", title: "Pushing to a registry", summary: "Tag an image for a registry and push it there.",
    params: [{ name: "registry", help: "The registry to push to (host:port)", default: null, optional: false, secret: false }], steps: [
    { title: "Push the image", what: "Pushes the lesson image to {registry}.", why: "A registry is where images are shared.",
      command: "docker push {registry}/berth-learn/hello", output: "pushed", checks: ["{registry} lists berth-learn/hello"] },
  ] },
];

/** A fake lesson run: `failStep` makes that step's checks fail. */
export class MockLearn {
  current: { lesson: FakeLesson; next: number; params: Record<string, string> } | null = null;
  failStep: number | null = null;
  /** Lessons left (cleaned up), by id. */
  left: string[] = [];

  lessons(): LearnLesson[] {
    return LESSONS.map((l) => ({ id: l.id, title: l.title, summary: l.summary, steps: l.steps.length, params: l.params }));
  }

  start(id: string, params: Record<string, string> = {}): LearnStep | null {
    const lesson = LESSONS.find((l) => l.id === id);
    if (!lesson) throw { code: "not_found", message: `there is no lesson "${id}"` };
    const missing = lesson.params.find((p) => !p.optional && !p.default && !params[p.name]?.trim());
    if (missing) throw { code: "invalid_input", message: `the lesson ${id} needs ${missing.name}` };
    if (this.current) this.leave();
    this.current = { lesson, next: 0, params };
    return this.step();
  }

  step(): LearnStep | null {
    if (!this.current) throw { code: "not_found", message: "no lesson is in progress" };
    const { lesson, next } = this.current;
    const s = lesson.steps[next];
    if (!s) return null;
    return { lesson: lesson.id, index: next, total: lesson.steps.length, title: s.title, what: this.fill(s.what), why: s.why,
      command: this.fill(s.command), files: [], expectFailure: false, missing: [] };
  }

  private fill(text: string): string {
    return text.replace(/\{(\w+)\}/g, (whole, name: string) => this.current?.params[name] ?? whole);
  }

  runStep(): LearnReport {
    if (!this.current) throw { code: "not_found", message: "no lesson is in progress" };
    const index = this.current.next;
    const s = this.current.lesson.steps[index];
    if (!s) throw { code: "conflict", message: "the lesson has no step left" };
    this.current.next++;
    const passed = this.failStep !== index;
    const checks = s.checks.map((claim) => ({ claim: this.fill(claim), passed, detail: passed ? null : "not seen" }));
    return { index, output: s.output, status: 0, error: null, checks, skipped: false, passed };
  }

  leave(): LearnLeft {
    if (!this.current) return { removed: "", problems: [] };
    this.left.push(this.current.lesson.id);
    this.current = null;
    return { removed: "Removed 1 container, 1 image.", problems: [] };
  }
}
