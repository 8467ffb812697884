// What GoTrue answers for the features `supabase start`'s config leaves off (and this stand-in does
// not have): the same status, error code and message, so a client's error handling behaves as it
// will against hosted Supabase with those features off. Each entry: the method and path pattern,
// who must call it first (GoTrue's middleware order: "user" = requireAuthentication, "admin" =
// requireAdminCredentials), and the error (middleware.go, mfa.go, external.go, token.go, web3.go).
import { AuthError } from "./http.mjs";

const samlOff = [404, "saml_provider_disabled", "SAML 2.0 is disabled"];
const oauthServerOff = [404, "feature_disabled", "OAuth server is disabled"];

export const SWITCHED_OFF = [
  { methods: ["POST"], path: /^\/sso$/, error: samlOff },
  { methods: ["GET"], path: /^\/sso\/saml\/metadata$/, error: samlOff },
  { methods: ["POST"], path: /^\/sso\/saml\/acs$/, error: samlOff },
  { methods: ["GET"], path: /^\/user\/identities\/authorize$/, caller: "user", error: [404, "manual_linking_disabled", "Manual linking is disabled"] },
  { methods: ["DELETE"], path: /^\/user\/identities\/[^/]+$/, caller: "user", error: [404, "manual_linking_disabled", "Manual linking is disabled"] },
  { methods: ["GET", "DELETE"], path: /^\/user\/oauth\/grants$/, caller: "user", error: oauthServerOff },
  { methods: ["GET"], path: /^\/\.well-known\/oauth-authorization-server$/, error: oauthServerOff },
  { methods: ["POST"], path: /^\/oauth\/clients\/register$/, error: oauthServerOff },
  { methods: ["POST"], path: /^\/oauth\/token$/, error: oauthServerOff },
  { methods: ["GET"], path: /^\/oauth\/(userinfo|authorize)$/, error: oauthServerOff },
  { methods: ["GET"], path: /^\/oauth\/authorizations\/[^/]+$/, error: oauthServerOff },
  { methods: ["POST"], path: /^\/oauth\/authorizations\/[^/]+\/consent$/, error: oauthServerOff },
  { methods: ["GET", "POST", "PUT", "DELETE"], path: /^\/admin\/oauth\/clients(\/.*)?$/, caller: "admin", error: oauthServerOff },
  { methods: ["GET", "POST", "PUT", "DELETE"], path: /^\/admin\/custom-providers(\/[^/]+)?$/, caller: "admin", error: [404, "feature_disabled", "Custom OAuth providers are disabled"] },
  { methods: ["GET", "POST", "PUT", "PATCH", "DELETE"], path: /^\/scim\/v2(\/.*)?$/, error: [404, "feature_disabled", "SCIM server is disabled"] },
  { methods: ["GET", "POST", "PATCH", "DELETE"], path: /^\/passkeys(\/.*)?$/, error: [404, "passkey_disabled", "Passkeys are disabled"] },
  { methods: ["GET", "DELETE"], path: /^\/admin\/users\/[^/]+\/passkeys(\/[^/]+)?$/, caller: "admin", error: [404, "passkey_disabled", "Passkeys are disabled"] },
  // MFA: enrolment is off for every factor type ([auth.mfa.*] enroll_enabled = false), and no
  // user has a factor, so a factor id is never found.
  { methods: ["POST", "DELETE"], path: /^\/factors\/[^/]+(\/(verify|challenge))?$/, caller: "user", error: [404, "mfa_factor_not_found", "Factor not found"] },
  { methods: ["PUT", "DELETE"], path: /^\/admin\/users\/[^/]+\/factors\/[^/]+$/, caller: "admin", error: [404, "mfa_factor_not_found", "Factor not found"] },
  // OAuth sign-in: no external provider is enabled.
  { methods: ["GET"], path: /^\/authorize$/, error: [400, "validation_failed", "Unsupported provider: provider is not enabled"] },
  { methods: ["GET", "POST"], path: /^\/callback$/, error: [400, "bad_oauth_callback", "OAuth state parameter missing"] },
];

/** The switched-off entry a request falls under, or null. */
export function switchedOff(method, path) {
  return SWITCHED_OFF.find((entry) => entry.methods.includes(method) && entry.path.test(path)) ?? null;
}

export const asError = ([status, code, message]) => new AuthError(status, code, message);

/** POST /factors: GoTrue's answer for each factor type with enrolment off. */
export function factorEnrolmentOff(factorType) {
  if (factorType === "phone") return new AuthError(422, "mfa_phone_enroll_not_enabled", "MFA enroll is disabled for Phone");
  if (factorType === "webauthn") return new AuthError(422, "mfa_webauthn_enroll_not_enabled", "MFA enroll is disabled for WebAuthn");
  if (factorType === "totp") return new AuthError(422, "mfa_totp_enroll_not_enabled", "MFA enroll is disabled for TOTP");
  return new AuthError(400, "validation_failed", "factor_type needs to be totp, phone, or webauthn");
}
