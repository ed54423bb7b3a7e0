//! PostgreSQL's runner of the shared transaction scripts (`infra::sql`): a script is
//! synchronous, so each of its statements is driven to completion on the calling
//! thread by the directory's own runtime, one `block_on` per statement, never one
//! inside another (the script runs outside any future). The connection and the
//! transaction live on this thread's stack across those calls, as they live in one
//! future's state in `change!`; a script that fails drops the transaction, whose drop
//! queues its `ROLLBACK` before the connection goes back to the pool.

use deadpool_postgres::GenericClient;

use super::rows::{all, exec, P};
use super::{begin_write, PgDirectory};
use crate::domain::ports::DirResult;
use crate::infra::sql::{EachRow, Params, SqlDirectory, SqlRow, Tx};

/// A script's statements on one pooled connection or transaction.
struct PgTx<'a, C> {
    dir: &'a PgDirectory,
    c: &'a C,
}

impl<C: GenericClient + Sync> Tx for PgTx<'_, C> {
    fn each(&self, sql: &str, params: &Params, each: EachRow<'_>) -> DirResult<()> {
        let pg: Vec<P<'_>> = params.iter().map(|p| p.pg()).collect();
        for r in &self.dir.block_on(all(self.c, sql, &pg))? {
            each(&SqlRow::Pg(r))?;
        }
        Ok(())
    }

    fn exec(&self, sql: &str, params: &Params) -> DirResult<u64> {
        let pg: Vec<P<'_>> = params.iter().map(|p| p.pg()).collect();
        self.dir.block_on(exec(self.c, sql, &pg))
    }
}

impl SqlDirectory for PgDirectory {
    fn read_script<T>(&self, f: impl FnOnce(&dyn Tx) -> DirResult<T>) -> DirResult<T> {
        let client = self.block_on(self.client())?;
        f(&PgTx {
            dir: self,
            c: &client,
        })
    }

    fn change_script<T>(&self, f: impl FnOnce(&dyn Tx) -> DirResult<T>) -> DirResult<T> {
        let mut client = self.block_on(self.client())?;
        let tx = self.block_on(begin_write(&mut client))?;
        let out = f(&PgTx { dir: self, c: &tx })?;
        self.block_on(async { Ok(tx.commit().await?) })?;
        Ok(out)
    }

    /// PostgreSQL enforces its constraints as it writes; what is left is one added
    /// `NOT VALID` and never validated.
    fn engine_checks(&self) -> &'static [(&'static str, &'static str)] {
        &[(
            "constraints validated",
            "SELECT conrelid::regclass::text || ': constraint ' || conname || ' is not validated'
             FROM pg_constraint WHERE NOT convalidated",
        )]
    }
}
