/** The image formats a profile can ask for (no dependencies: the CLI's help reads them). */
export const FORMATS = ['iso', 'qcow2'] as const;
export type Format = (typeof FORMATS)[number];
