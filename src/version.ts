/** The library version written into every saved model (a test keeps it equal to package.json's). */
export const VERSION = '0.1.0';
/** The multiloss.json format this library writes and the newest it reads. */
export const FORMAT_VERSION = 1;
