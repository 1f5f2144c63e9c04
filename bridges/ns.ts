/**
 * The NS bridge: the remote log spec's name system as IPNS. Names are keys,
 * values signed records (the highest sequence wins), published and read by
 * the delegated routing v1 API, resolved to CAS content at `/ipns/{name}`,
 * and offered as the spec's Twirp NS service.
 */
import { int, setting, settingGroup, type SettingValues } from "../lib/settings.ts";
import { MAX_RECORD_BYTES } from "../protocols/ns/record.ts";
import { nsRoutes } from "../routes/ns.ts";
import { nsTwirpRoutes } from "../routes/ns_twirp.ts";
import { NsService } from "../services/ns_service.ts";
import { defineBridge } from "./bridge.ts";

/** The NS bridge's settings: SYNCGATE_NS_*. */
export const NS_SETTINGS = settingGroup("NS", {
  maxRecordBytes: setting(
    int(1024, MAX_RECORD_BYTES).default(MAX_RECORD_BYTES),
    "largest IPNS record taken, in bytes (the IPNS spec's limit, 10 KiB, is the most); larger " +
      "is 413 before it is parsed",
  ),
});

/** The NS bridge's settings, read. */
export type NsSettings = SettingValues<typeof NS_SETTINGS.settings>;

export const ns = defineBridge({
  name: "ns",
  settings: NS_SETTINGS,
  create(ctx, config) {
    const service = new NsService(ctx.store, ctx.blobs, { maxRecordBytes: config.maxRecordBytes });
    const deps = { ns: service, maxRecordBytes: config.maxRecordBytes };
    return {
      services: [],
      routes(routes) {
        nsRoutes(routes, deps);
        nsTwirpRoutes(routes, deps);
      },
    };
  },
});
