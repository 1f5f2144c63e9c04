/**
 * The worker that runs the front's edge (see services/http_front_thread.ts
 * for the main thread's side and the messages). It reports through a
 * BatchReporter, and flushes it before each answer, so that the main
 * thread has every report by the time it reads the answer.
 */
import { FrontEdge } from "./http_front_edge.ts";
import { BatchReporter } from "./http_front_report.ts";
import type { FromEdge, ToEdge } from "./http_front_thread.ts";

const scope = self as unknown as {
  postMessage(message: FromEdge): void;
  onmessage: ((e: MessageEvent<ToEdge>) => void) | null;
};
const reporter = new BatchReporter((batch) => scope.postMessage({ type: "report", batch }));
let edge: FrontEdge | undefined;

scope.onmessage = async ({ data }) => {
  switch (data.type) {
    case "start":
      try {
        edge = new FrontEdge(data.opts, reporter);
      } catch (e) {
        const { name, message } = e as Error;
        return scope.postMessage({ type: "failed", name, message });
      }
      edge.start();
      return scope.postMessage({ type: "listening", addr: edge.addr });
    case "upstream":
      return edge?.setUpstream(data.path);
    case "serverFailed":
      return edge?.serverFailed(data.fdError);
    case "drain":
      await edge?.drain();
      reporter.flush();
      return scope.postMessage({ type: "drained" });
    case "finish":
      await edge?.finish();
      reporter.flush();
      return scope.postMessage({ type: "finished" });
  }
};
