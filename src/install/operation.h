// One installer operation from its journal entry to its end: the sequence
// install, upgrade and uninstall follow in the host's installer and in a
// panel's (see patchbay/install.h for why it is all or nothing):
//
//   Operation op(steps, journal);
//   if (auto s = op.begin(); !s) return s.error();       // journaled: nothing changed yet
//   ... stage files where nothing reads them; on error: return op.fail(e);
//   if (auto s = op.commit(db, change); !s) return s.error();  // the commit point, then the rest
//
// What finishing and undoing an operation mean belongs to its installer
// (OperationSteps); the order, the crash points and recovery are here, once.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "install/journal.h"
#include "install/migrations.h"
#include "patchbay/result.h"

namespace patchbay::install {

// An installer's part of every operation.
class OperationSteps {
 public:
  virtual ~OperationSteps() = default;
  virtual const JournalFolder& journal() const = 0;
  // After the commit: every remaining step, each safe to redo after a crash.
  // Does not remove the journal entry (the operation does, once this succeeded).
  virtual Status rollForward(const Journal& j) = 0;
  // Before the commit: removes what the operation made; nothing anyone reads
  // had changed. Does not remove the journal entry.
  virtual Status rollBack(const Journal& j) = 0;
  // Whether `j` committed in its database (a crash can fall between the
  // database's commit and the journal's mark).
  virtual bool committedInDatabase(const Journal& j) = 0;
};

class Operation {
 public:
  Operation(OperationSteps& steps, Journal journal) : steps_(steps), journal_(std::move(journal)) {}
  const Journal& journal() const { return journal_; }

  // Writes the journal entry durably, before anything changes.
  Status begin();
  // A failure before the commit: what was made is removed. Returns `e`
  // (saying so when removing failed too).
  Error fail(const Error& e);
  // Records what finishing needs that was learnt after begin() (a panel's
  // registry entry), durably.
  Status rewrite(const std::function<void(Journal&)>& change);
  // The commit point and what follows: `change` in one transaction; a
  // failure there is rolled back like fail(). After it the journal is
  // marked committed and the rest rolled forward; an error after the
  // commit leaves the journal for the next open to finish.
  // `committed`, when given, is told at the commit point (before the rest).
  Status commit(MigrationTarget& db, const DatabaseChange& change, const std::function<void()>& committed = {});
  // The same for an operation that changes no database (a cluster member's
  // copy of an uninstall another process made): the journal's mark is the
  // commit point.
  Status commitFilesOnly(const std::function<void()>& committed = {});

 private:
  OperationSteps& steps_;
  Journal journal_;
};

// What recovery did with one interrupted operation.
struct RecoveredOperation {
  OperationKind kind;
  std::string id;
  bool finished = false;  // committed and finished; else rolled back
  std::string describe() const;  // "finished the interrupted install of x"
};

// Every journal entry a crash left, oldest first: finished when it
// committed, else undone.
Result<std::vector<RecoveredOperation>> recoverOperations(OperationSteps& steps);

}  // namespace patchbay::install
