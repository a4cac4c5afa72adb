/** A construct prop keyroll cannot use. Raised at synth time; the message shows the bad value. */
export class InvalidKeyrollPropsError extends Error {
  override readonly name = 'InvalidKeyrollPropsError';
}
