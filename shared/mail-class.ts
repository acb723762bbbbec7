/**
 * @module mail-class
 * Mail classes (the indicium's rate category), with the one-byte code the indicium carries.
 */

export const MAIL_CLASSES = {
  'first-class': { code: 1, label: 'First-Class Mail' },
  'first-class-flat': { code: 2, label: 'First-Class Mail Large Envelope' },
  priority: { code: 3, label: 'Priority Mail' },
  'ground-advantage': { code: 4, label: 'USPS Ground Advantage' },
  'media-mail': { code: 5, label: 'Media Mail' },
  'marketing-mail': { code: 6, label: 'USPS Marketing Mail' },
  'priority-express': { code: 7, label: 'Priority Mail Express' },
} as const;

export type MailClass = keyof typeof MAIL_CLASSES;

export const MAIL_CLASS_NAMES = Object.keys(MAIL_CLASSES) as MailClass[];

export function isMailClass(value: string): value is MailClass {
  return Object.hasOwn(MAIL_CLASSES, value);
}

export function mailClassByCode(code: number): MailClass | undefined {
  return MAIL_CLASS_NAMES.find((name) => MAIL_CLASSES[name].code === code);
}
