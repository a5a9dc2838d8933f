// tap's `before` step: make the test PKI once, before any test file runs.
import { ensurePki } from './helpers/pki'
ensurePki()
