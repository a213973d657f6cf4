/**
 * When a certificate needs the operator, by its lifetime: the rule the renewal job's status
 * (templates/partials/sh-status.hbs, in the host's shell) and `npm run status` share. Certificates now live
 * from six days to ninety and shrinking, so the rule is a part of the lifetime, not days.
 */

/** The thresholds of attention (alertLifetimeFraction, alertDaysBeforeExpiry). */
export interface AttentionThresholds {
    /** The part of its lifetime a certificate may have left before it needs attention. */
    lifetimeFraction: number;
    /** Days before expiry from which it needs attention too, when set. */
    daysBeforeExpiry?: number;
}

/**
 * Why a certificate valid from `notBefore` to `notAfter` (ms) needs attention at `now`, or undefined: less
 * than the fraction of its lifetime left, or fewer than the days when they are set (with no `notBefore`
 * known: expired, or fewer than the days). A certificate just
 * issued never does; one whose renewal failed for a while does, long enough before expiry to act.
 */
export function lifetimeAttention(notBefore: number | undefined, notAfter: number, now: number, thresholds: AttentionThresholds): string | undefined {
    const left = notAfter - now;
    const days = Math.floor(left / 86_400_000);
    const when = left < 0 ? `expired ${Math.ceil(-left / 86_400_000)} days ago` : `expires in ${days} days`;
    if (notBefore === undefined) {
        // Without its start (a certificate that could not be read whole), expiry and the days still count.
        return left < 0
            ? when
            : thresholds.daysBeforeExpiry !== undefined && days < thresholds.daysBeforeExpiry
              ? `${when} (alertDaysBeforeExpiry ${thresholds.daysBeforeExpiry})`
              : undefined;
    }
    const lifetime = notAfter - notBefore;
    if (left < lifetime * thresholds.lifetimeFraction) {
        const percent = Math.max(0, Math.round((100 * left) / lifetime));
        return `${when}, ${percent}% of its ${formatLifetime(lifetime)} lifetime left (alertLifetimeFraction ${thresholds.lifetimeFraction.toFixed(3)})`;
    }
    if (thresholds.daysBeforeExpiry !== undefined && days < thresholds.daysBeforeExpiry) {
        return `${when} (alertDaysBeforeExpiry ${thresholds.daysBeforeExpiry})`;
    }
    return undefined;
}

/** A lifetime as people name it: days, else hours, else minutes. */
export function formatLifetime(ms: number): string {
    const minutes = Math.round(ms / 60_000);
    if (minutes >= 2 * 24 * 60) {
        return `${Math.round(minutes / (24 * 60))}-day`;
    }
    return minutes >= 120 ? `${Math.round(minutes / 60)}-hour` : `${minutes}-minute`;
}
