#include "install/operation.h"

#include "install/crash_point.h"

namespace patchbay {

const char* operationName(OperationKind kind) {
  switch (kind) {
    case OperationKind::kInstall: return "install";
    case OperationKind::kUpgrade: return "upgrade";
    case OperationKind::kUninstall: return "uninstall";
  }
  return "install";
}

std::optional<OperationKind> operationKindNamed(std::string_view name) {
  for (OperationKind k : {OperationKind::kInstall, OperationKind::kUpgrade, OperationKind::kUninstall}) {
    if (name == operationName(k)) return k;
  }
  return std::nullopt;
}

const char* operationStepName(OperationStep step) {
  switch (step) {
    case OperationStep::kDownload: return "download";
    case OperationStep::kVerify: return "verify";
    case OperationStep::kUnpack: return "unpack";
    case OperationStep::kMigrate: return "migrate";
    case OperationStep::kActivate: return "activate";
    case OperationStep::kDeactivate: return "deactivate";
    case OperationStep::kRemove: return "remove";
  }
  return "download";
}

}  // namespace patchbay

namespace patchbay::install {

namespace {

// The crash point after `step` of an operation of this kind ("install:committed").
void reached(const Journal& j, const char* step) { crashPoint(std::string(operationName(j.kind)) + ":" + step); }

// Rolls `j` back and removes its entry.
Status undo(OperationSteps& steps, const Journal& j) {
  if (auto s = steps.rollBack(j); !s) return s;
  return steps.journal().remove(j);
}

// Rolls `j` forward and removes its entry.
Status finish(OperationSteps& steps, const Journal& j) {
  if (auto s = steps.rollForward(j); !s) return s;
  return steps.journal().remove(j);
}

}  // namespace

Status Operation::begin() {
  if (auto s = steps_.journal().write(journal_); !s) return s;
  reached(journal_, "journaled");
  return {};
}

Error Operation::fail(const Error& e) {
  if (auto undone = undo(steps_, journal_); !undone) {
    return Error{e.kind, e.message + " (and rolling back failed: " + undone.error().message + ")"};
  }
  return e;
}

Status Operation::rewrite(const std::function<void(Journal&)>& change) {
  change(journal_);
  return steps_.journal().write(journal_);
}

Status Operation::commit(MigrationTarget& db, const DatabaseChange& change, const std::function<void()>& committed) {
  reached(journal_, "migrating");
  if (auto s = commitChange(db, change); !s) return fail(s.error());
  reached(journal_, "committed");
  journal_.committed = true;
  // From here on the operation stands: an error leaves the journal for recovery to finish.
  if (auto s = steps_.journal().write(journal_); !s) return s;
  reached(journal_, "journal-committed");
  if (committed) committed();
  return finish(steps_, journal_);
}

Status Operation::commitFilesOnly(const std::function<void()>& committed) {
  journal_.committed = true;
  if (auto s = steps_.journal().write(journal_); !s) {
    journal_.committed = false;
    return fail(s.error());
  }
  reached(journal_, "journal-committed");
  if (committed) committed();
  return finish(steps_, journal_);
}

std::string RecoveredOperation::describe() const {
  return std::string(finished ? "finished" : "rolled back") + " the interrupted " + operationName(kind) + " of " + id;
}

Result<std::vector<RecoveredOperation>> recoverOperations(OperationSteps& steps) {
  auto journals = steps.journal().pending();
  if (!journals) return journals.error();
  std::vector<RecoveredOperation> out;
  for (Journal& j : *journals) {
    if (!j.committed && steps.committedInDatabase(j)) j.committed = true;
    Status s = j.committed ? finish(steps, j) : undo(steps, j);
    RecoveredOperation r{j.kind, j.id, j.committed};
    if (!s) return Error{s.error().kind, (j.committed ? "finishing" : "rolling back") + std::string(" the interrupted ") + operationName(j.kind) + " of " + j.id + ": " + s.error().message};
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace patchbay::install
