import { describe, expect, it } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import LearnPage from "./LearnPage.svelte";
import { eventually, freshBackend } from "../lib/test-kit";
import { setLanguage } from "../lib/i18n";

describe("Learn page", () => {
  it("lists the lessons, steps through one, shows its checks and leaves it", async () => {
    const b = await freshBackend();
    render(LearnPage);
    await eventually(() => expect(screen.getByTestId("lesson-images")).toBeTruthy());
    expect(screen.getByTestId("lesson-images").textContent).toContain("Images and tags");
    expect(screen.getByTestId("lesson-images").textContent).toContain("2 steps");
    expect(screen.getByTestId("lesson-registry").textContent).toContain("1 step");

    await fireEvent.click(screen.getByTestId("learn-open-images"));
    await eventually(() => expect(screen.getByTestId("learn-step-title").textContent).toBe("List the images"));
    expect(screen.getByTestId("learn-step-of").textContent).toBe("Step 1 of 2");
    expect(screen.getByTestId("learn-command").textContent).toBe("$ docker image ls");
    expect(b.calls).toContain("learnStart:images");

    await fireEvent.click(screen.getByTestId("learn-run"));
    await eventually(() => expect(screen.getAllByTestId("learn-check")).toHaveLength(1));
    expect(screen.getByTestId("learn-output").textContent).toContain("berth-learn/base");
    expect(screen.getByTestId("learn-check").dataset.passed).toBe("true");

    await fireEvent.click(screen.getByTestId("learn-next"));
    await eventually(() => expect(screen.getByTestId("learn-step-title").textContent).toBe("Tag the image"));
    b.learn.failStep = 1;
    await fireEvent.click(screen.getByTestId("learn-run"));
    await eventually(() => expect(screen.getAllByTestId("learn-check")).toHaveLength(2));
    expect(screen.getAllByTestId("learn-check").map((c) => c.dataset.passed)).toEqual(["false", "false"]);
    expect(screen.getByRole("alert").textContent).toContain("did not do what it claimed");

    await fireEvent.click(screen.getByTestId("learn-leave"));
    await eventually(() => expect(screen.getByTestId("learn-left")).toBeTruthy());
    expect(b.learn.left).toEqual(["images"]);
    expect(b.learn.current).toBeNull();
    expect(screen.getByTestId("lesson-registry")).toBeTruthy();
  });

  it("ends with Finish, which cleans up, and speaks Japanese", async () => {
    const b = await freshBackend();
    setLanguage("ja");
    try {
      render(LearnPage);
      await eventually(() => expect(screen.getByTestId("learn-open-images")).toBeTruthy());
      expect(screen.getByRole("heading", { level: 1 }).textContent).toBe("学ぶ");
      await fireEvent.click(screen.getByTestId("learn-open-images"));
      for (let i = 0; i < 2; i++) {
        await eventually(() => expect(screen.getByTestId("learn-run").textContent).toContain("実行"));
        await fireEvent.click(screen.getByTestId("learn-run"));
        await eventually(() => expect(screen.getByTestId("learn-next")).toBeTruthy());
        await fireEvent.click(screen.getByTestId("learn-next"));
      }
      await eventually(() => expect(screen.getByTestId("learn-done").textContent).toContain("レッスン完了"));
      await fireEvent.click(screen.getByTestId("learn-finish"));
      await eventually(() => expect(b.learn.left).toEqual(["images"]));
    } finally {
      setLanguage("system");
    }
  });

  it("asks for a lesson's values before starting it, and fills them in", async () => {
    const b = await freshBackend();
    render(LearnPage);
    await eventually(() => expect(screen.getByTestId("learn-open-registry")).toBeTruthy());
    await fireEvent.click(screen.getByTestId("learn-open-registry"));
    expect(b.calls).not.toContain("learnStart:registry");
    const input = screen.getByTestId("learn-params").querySelector<HTMLInputElement>("input[data-param=registry]")!;
    await fireEvent.input(input, { target: { value: "127.0.0.1:5000" } });
    await fireEvent.click(screen.getByTestId("learn-open-registry"));
    await eventually(() => expect(screen.getByTestId("learn-command").textContent).toBe("$ docker push 127.0.0.1:5000/berth-learn/hello"));
  });

  it("shows why a lesson did not start", async () => {
    await freshBackend();
    render(LearnPage);
    await eventually(() => expect(screen.getByTestId("learn-open-registry")).toBeTruthy());
    await fireEvent.click(screen.getByTestId("learn-open-registry"));
    await fireEvent.click(screen.getByTestId("learn-open-registry"));
    await eventually(() => expect(screen.getByRole("alert").textContent).toContain("needs registry"));
  });

  it("picks up the lesson in progress when shown again", async () => {
    const b = await freshBackend();
    b.learn.start("images");
    render(LearnPage);
    await eventually(() => expect(screen.getByTestId("learn-step-title").textContent).toBe("List the images"));
    expect(screen.getByRole("heading", { level: 1 }).textContent).toBe("Images and tags");
  });
});
