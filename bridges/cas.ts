/**
 * The CAS bridge: the remote log spec's content-addressed store, addressed
 * and served as IPFS does (CIDv1 raw sha2-256; an IPFS trustless gateway at
 * `/ipfs/{cid}`), with a plain upload, and the spec's Twirp service.
 */
import { int, setting, settingGroup, type SettingValues } from "../lib/settings.ts";
import { casRoutes } from "../routes/cas.ts";
import { CasService } from "../services/cas_service.ts";
import { defineBridge } from "./bridge.ts";

/** The CAS bridge's settings: SYNCGATE_CAS_*. */
export const CAS_SETTINGS = settingGroup("CAS", {
  maxBytes: setting(
    int(0, 4 * 1024 * 1024 * 1024).default(64 * 1024 * 1024),
    "largest content `POST /cas` and Twirp's Add take; larger is 413 (Twirp: invalid_argument)",
  ),
});

/** The CAS bridge's settings, read. */
export type CasSettings = SettingValues<typeof CAS_SETTINGS.settings>;

export const cas = defineBridge({
  name: "cas",
  settings: CAS_SETTINGS,
  create(ctx, config) {
    const service = new CasService(ctx.store, ctx.blobs);
    return {
      services: [],
      routes: (routes) => casRoutes(routes, { cas: service, maxBytes: config.maxBytes }),
    };
  },
});
