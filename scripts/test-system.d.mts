/** The Debian packages the tests need (test-system.mjs). */
export const PACKAGES: readonly string[];
/** Installs (as root) or checks the packages and CUPS; returns the problems found. */
export function prepareSystem(): string[];
