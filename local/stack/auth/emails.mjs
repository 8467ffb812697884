// The emails GoTrue sends (internal/api/mail.go, internal/mailer) and what they carry: a one-time
// code and a link to GET /auth/v1/verify. GoTrue stores only the hash of a code, sha224 of the
// address followed by the code (crypto.GenerateTokenHash); the link carries that hash. The
// stand-in delivers each email to the local inbox (inbox.mjs) instead of an SMTP server.
import { createHash, randomInt } from "node:crypto";
import { AuthError, badRequest } from "./http.mjs";

// `supabase start`'s [auth.email] defaults: otp_length, otp_expiry, max_frequency; its sender.
export const OTP_LENGTH = 6;
export const OTP_EXPIRY_SECONDS = 3600;
export const MAX_FREQUENCY_SECONDS = 1;
const SENDER = { name: "Admin", address: "admin@email.com" };

// badoux/checkmail's ValidateFormat, which GoTrue's validateEmail uses: a dot-atom local part and
// a hostname of letter/digit labels (so `x@localhost` passes and `xx:;x@x.x` does not).
const EMAIL_FORMAT =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** GoTrue's validateEmail: present, at most 255 characters, checkmail's format; lowercased. */
export function validateEmail(email) {
  if (!email) throw badRequest("validation_failed", "An email address is required");
  if (email.length > 255) throw badRequest("validation_failed", "An email address is too long");
  if (!EMAIL_FORMAT.test(email)) throw badRequest("validation_failed", "Unable to validate email address: invalid format");
  return email.toLowerCase();
}

/** A numeric one-time code (crypto.GenerateOtp). */
export function generateOtp() {
  let otp = "";
  for (let i = 0; i < OTP_LENGTH; i += 1) otp += String(randomInt(10));
  return otp;
}

/** What GoTrue stores for a code sent to an address, and what its links carry. */
export const tokenHash = (address, otp) => createHash("sha224").update(address + otp).digest("hex");

/** Whether a code sent at `sentAt` is still good (isOtpExpired). */
export function isOtpFresh(sentAt) {
  return sentAt !== null && sentAt !== undefined && new Date(sentAt).getTime() + OTP_EXPIRY_SECONDS * 1000 > Date.now();
}

/** GoTrue's validateSentWithinFrequencyLimit: 429 over_email_send_rate_limit. */
export function checkSendFrequency(sentAt) {
  if (!sentAt) return;
  const until = new Date(sentAt).getTime() + MAX_FREQUENCY_SECONDS * 1000;
  if (until > Date.now()) {
    const left = Math.max(1, Math.ceil((until - Date.now()) / 1000)); // never "after 0 seconds"
    throw new AuthError(429, "over_email_send_rate_limit", `For security purposes, you can only request this after ${left} seconds.`);
  }
}

/**
 * GoTrue's GetReferrer: the redirect_to the caller asked for when it is allowed (the site URL's
 * host, any port on a loopback host, or an additional redirect URL), else the site URL.
 */
export function referrer(requested, { siteUrl, additionalRedirectUrls = [] }) {
  if (!requested) return siteUrl;
  let base;
  let ref;
  try {
    base = new URL(siteUrl);
    ref = new URL(requested);
  } catch {
    return siteUrl;
  }
  const loopback = ["localhost", "127.0.0.1", "[::1]"].includes(ref.hostname);
  if (base.hostname === ref.hostname && base.protocol === ref.protocol && (base.port === ref.port || loopback)) return requested;
  if (loopback) return requested;
  const withoutFragment = requested.split("#")[0];
  for (const pattern of additionalRedirectUrls) {
    const regex = new RegExp(`^${pattern.split("**").map((part) => part.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/.]*")).join(".*")}$`);
    if (regex.test(withoutFragment)) return requested;
  }
  return siteUrl;
}

// GoTrue's default templates (internal/mailer/template), the ones `supabase start` uses.
const TEMPLATES = {
  signup: {
    subject: "Confirm Your Signup",
    html: (d) => `<h2>Confirm your signup</h2>\n\n<p>Follow this link to confirm your user:</p>\n<p><a href="${d.url}">Confirm your mail</a></p>\n<p>Alternatively, enter the code: ${d.otp}</p>`,
  },
  invite: {
    subject: "You have been invited",
    html: (d) => `<h2>You have been invited</h2>\n\n<p>You have been invited to create a user on ${d.siteUrl}. Follow this link to accept the invite:</p>\n<p><a href="${d.url}">Accept the invite</a></p>\n<p>Alternatively, enter the code: ${d.otp}</p>`,
  },
  magiclink: {
    subject: "Your Magic Link",
    html: (d) => `<h2>Magic Link</h2>\n\n<p>Follow this link to login:</p>\n<p><a href="${d.url}">Log In</a></p>\n<p>Alternatively, enter the code: ${d.otp}</p>`,
  },
  recovery: {
    subject: "Reset Your Password",
    html: (d) => `<h2>Reset Password</h2>\n\n<p>Follow this link to reset the password for your user:</p>\n<p><a href="${d.url}">Reset Password</a></p>\n<p>Alternatively, enter the code: ${d.otp}</p>`,
  },
  email_change: {
    subject: "Confirm Email Change",
    html: (d) => `<h2>Confirm Change of Email</h2>\n\n<p>Follow this link to confirm the update of your email from ${d.email} to ${d.newEmail}:</p>\n<p><a href="${d.url}">Change Email</a></p>\n<p>Alternatively, enter the code: ${d.otp}</p>`,
  },
  reauthentication: {
    subject: "Confirm reauthentication",
    html: (d) => `<h2>Confirm reauthentication</h2>\n\n<p>Enter the code: ${d.otp}</p>`,
  },
};

const htmlToText = (html) =>
  html.replace(/<a href="([^"]*)">([^<]*)<\/a>/g, "$2 ( $1 )").replace(/<[^>]+>/g, "").replace(/&amp;/g, "&").replace(/\n{3,}/g, "\n\n").trim();

const escapeAttribute = (text) => String(text).replace(/&/g, "&amp;").replace(/"/g, "&quot;");

/**
 * The mailer: builds GoTrue's email for an action and delivers it to the inbox.
 *
 * @param {{ inbox: { deliver(message: object): object }, authUrl: string, siteUrl: string }} options
 */
export function createMailer({ inbox, authUrl, siteUrl }) {
  return {
    /**
     * @param {{ to: string, template: keyof TEMPLATES, otp: string, hash?: string, type?: string,
     *   redirectTo?: string, email?: string, newEmail?: string }} email
     */
    send({ to, template, otp, hash, type = template, redirectTo = siteUrl, email, newEmail }) {
      const link = new URL(`${authUrl}/verify`);
      if (hash) {
        link.searchParams.set("token", hash);
        link.searchParams.set("type", type);
        link.searchParams.set("redirect_to", redirectTo);
      }
      const html = TEMPLATES[template].html({ url: escapeAttribute(link.toString()), otp, siteUrl, email, newEmail });
      return inbox.deliver({ from: SENDER, to, subject: TEMPLATES[template].subject, html, text: htmlToText(html) });
    },
  };
}
