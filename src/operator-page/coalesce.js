// Runs a refresh now, never two at once: calls made meanwhile collapse into one more run after it.

export function coalesce(task) {
  let running = null;
  let again = false;
  const run = async () => {
    try {
      await task();
    } catch (error) {
      console.warn('refresh failed', error);
    }
  };
  return function schedule() {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await run();
      } while (again);
      running = null;
    })();
    return running;
  };
}
