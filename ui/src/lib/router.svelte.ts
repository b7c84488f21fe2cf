// Hash routing: `#/containers/abc`. The table of routes lives in `routes.ts`.
function currentPath(): string {
  return (typeof location !== "undefined" ? location.hash.replace(/^#/, "") : "") || "/containers";
}

export const router = $state({ path: currentPath() });

if (typeof window !== "undefined") {
  window.addEventListener("hashchange", () => (router.path = currentPath()));
}

export function navigate(path: string) {
  location.hash = path;
  router.path = path;
}
