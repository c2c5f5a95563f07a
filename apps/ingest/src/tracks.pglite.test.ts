import { openTestDb } from '@earshot/db/testing';
import { describeTracksRoute } from '../test/tracks-suite.js';

// The embedded path: the same route on in-memory PGlite.
describeTracksRoute('embedded PGlite', () => openTestDb('pglite'));
