/**
 * The bridges this gateway runs. Adding a protocol is adding its bridge
 * module here: the spine (config, gateway, app) takes them from this list.
 */
import type { Bridge } from "./bridge.ts";
import { cas } from "./cas.ts";
import { mvds } from "./mvds.ts";
import { ns } from "./ns.ts";
import { remotelog } from "./remotelog.ts";
import { remotefile } from "./remotefile.ts";
import { waku } from "./waku.ts";

export const BRIDGES: readonly Bridge[] = [waku, cas, ns, remotelog, remotefile, mvds];
