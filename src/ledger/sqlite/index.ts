export { createSqliteLedger } from './ledger.js';
