/** `npm run bundle`: the functions' bundles, built before tests, synth and packing. */
import { bundleAllFunctions } from './bundling';

bundleAllFunctions();
