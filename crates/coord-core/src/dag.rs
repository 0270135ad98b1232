//! Plan validation and scheduling facts: unique ids, known dependencies and specialists, no
//! cycle (named by the ids that form it), parallel groups (topological layers), the critical
//! path, and `blocks` derived from `depends_on`.
//!
//! Only [`validate`] builds a [`ValidatedPlan`]; code that schedules work accepts nothing else.

use crate::plan::Plan;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

/// FxHash (the multiply-rotate hash rustc uses): task ids are short strings looked up a
/// million times on large plans, where SipHash's DoS resistance costs a third of validation.
/// Plans come from the user's own files and planners, not from untrusted peers.
#[derive(Default, Clone, Copy)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(i)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn finish(&self) -> u64 {
        // murmur3's fmix64: spreads the entropy into the high bits the hash table probes with.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

type IdMap<'a> = HashMap<&'a str, u32, BuildHasherDefault<IdHasher>>;

/// One thing wrong with a plan. Every variant names the task and the offending value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// The plan has no task.
    #[error("the plan has no tasks")]
    Empty,
    /// The objective is empty.
    #[error("the plan's objective is empty")]
    EmptyObjective,
    /// A task id is empty or has characters outside `[A-Za-z0-9._-]`.
    #[error("task #{index}: id `{id}` is not valid (use letters, digits, `.`, `_` and `-`, at most 64 characters)")]
    InvalidId {
        /// Position of the task in the plan, from 1.
        index: usize,
        /// The id as written.
        id: String,
    },
    /// Two tasks share an id.
    #[error("duplicate task id `{id}` (tasks #{first} and #{second})")]
    DuplicateId {
        /// The id.
        id: String,
        /// Position of the first task with it, from 1.
        first: usize,
        /// Position of the second, from 1.
        second: usize,
    },
    /// A task depends on itself.
    #[error("task `{task}` depends on itself")]
    SelfDependency {
        /// The task.
        task: String,
    },
    /// A dependency names no task of the plan.
    #[error("task `{task}` depends on `{dependency}`, which is not a task of this plan")]
    UnknownDependency {
        /// The task.
        task: String,
        /// The missing dependency.
        dependency: String,
    },
    /// A task is assigned to a specialist the roster does not have.
    #[error("task `{task}` is assigned to unknown specialist `{specialist}` (see `coord agents list`)")]
    UnknownSpecialist {
        /// The task.
        task: String,
        /// The unknown name.
        specialist: String,
    },
    /// `blocks` names a task that does not depend on this one.
    #[error("task `{task}` says it blocks `{blocked}`, but `{blocked}` does not depend on `{task}`")]
    BlocksMismatch {
        /// The task.
        task: String,
        /// The task it claims to block.
        blocked: String,
    },
    /// A task refers to a context item the plan does not have.
    #[error("task `{task}` refers to context item `{item}`, which the plan's context does not have")]
    UnknownContext {
        /// The task.
        task: String,
        /// The missing item id.
        item: String,
    },
    /// Two context items share an id.
    #[error("duplicate context item id `{id}`")]
    DuplicateContextId {
        /// The id.
        id: String,
    },
    /// An estimate is negative, zero or not a number.
    #[error("task `{task}` has estimate_hours {value}; it must be a positive number")]
    BadEstimate {
        /// The task.
        task: String,
        /// The value.
        value: f64,
    },
    /// A workflow stage names a task the plan does not have.
    #[error("the {workflow} workflow's step \"{step}\" names task `{task}`, which is not a task of this plan")]
    UnknownWorkflowTask {
        /// The workflow.
        workflow: String,
        /// The step.
        step: String,
        /// The missing task.
        task: String,
    },
    /// The dependencies form a cycle.
    #[error("dependency cycle: {}", cycle_text(.ids))]
    Cycle {
        /// The ids on the cycle; each depends on the next, and the last on the first.
        ids: Vec<String>,
    },
}

fn cycle_text(ids: &[String]) -> String {
    let mut text = ids.join(" → ");
    if let Some(first) = ids.first() {
        text.push_str(" → ");
        text.push_str(first);
    }
    text.push_str(" (each depends on the next)");
    text
}

/// Every problem found in a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanErrors(pub Vec<PlanError>);

/// Problems a message shows before it says how many more there are (a generated plan with one
/// mistake repeated 10,000 times would otherwise print 10,000 of them).
const SHOWN_PROBLEMS: usize = 20;

impl fmt::Display for PlanErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().take(SHOWN_PROBLEMS).enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        if self.0.len() > SHOWN_PROBLEMS {
            write!(f, "; and {} more problems", self.0.len() - SHOWN_PROBLEMS)?;
        }
        Ok(())
    }
}

impl std::error::Error for PlanErrors {}

/// A plan that passed validation, with its derived fields filled in and its graph indexed.
#[derive(Debug, Clone)]
pub struct ValidatedPlan {
    plan: Plan,
    /// `deps[dep_start[i]..dep_start[i+1]]` are the indices task `i` depends on.
    dep_start: Vec<u32>,
    deps: Vec<u32>,
    /// Same layout for dependents (the tasks that depend on `i`).
    rdep_start: Vec<u32>,
    rdeps: Vec<u32>,
    layer: Vec<u32>,
}

impl ValidatedPlan {
    /// The plan, with `groups`, `critical_path` and `blocks` derived.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Gives the plan back.
    pub fn into_plan(self) -> Plan {
        self.plan
    }

    /// Indices (into `plan().tasks`) of the tasks task `i` depends on.
    pub fn dependencies(&self, i: usize) -> &[u32] {
        &self.deps[self.dep_start[i] as usize..self.dep_start[i + 1] as usize]
    }

    /// Indices of the tasks that depend on task `i`.
    pub fn dependents(&self, i: usize) -> &[u32] {
        &self.rdeps[self.rdep_start[i] as usize..self.rdep_start[i + 1] as usize]
    }

    /// The parallel group (0-based layer) of task `i`.
    pub fn layer(&self, i: usize) -> usize {
        self.layer[i] as usize
    }

    /// Raises every task on the critical path to at least `priority`: what delays them delays
    /// the whole plan. Priorities do not change the graph, so the plan stays valid.
    pub fn raise_critical_path(&mut self, priority: crate::plan::Priority) {
        let ids = self.plan.critical_path.clone();
        for task in self.plan.tasks.iter_mut().filter(|t| ids.contains(&t.id)) {
            // Lower enum values are more urgent.
            if task.priority > priority {
                task.priority = priority;
            }
        }
    }

    /// The index of the task with this id.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.plan.tasks.iter().position(|t| t.id == id)
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Validates a plan and derives its schedule.
///
/// `known_specialist` says whether a specialist name exists in the roster. All problems are
/// reported at once. On success `groups`, `critical_path`, `critical_path_hours` and every
/// task's `blocks` are (re)computed; `blocks` written in the file must agree with `depends_on`.
pub fn validate(mut plan: Plan, known_specialist: impl Fn(&str) -> bool) -> Result<ValidatedPlan, PlanErrors> {
    let mut errors = Vec::new();
    if plan.objective.trim().is_empty() {
        errors.push(PlanError::EmptyObjective);
    }
    if plan.tasks.is_empty() {
        errors.push(PlanError::Empty);
        return Err(PlanErrors(errors));
    }
    let n = plan.tasks.len();

    let mut index: IdMap<'_> = HashMap::with_capacity_and_hasher(n, BuildHasherDefault::default());
    for (i, task) in plan.tasks.iter().enumerate() {
        if !valid_id(&task.id) {
            errors.push(PlanError::InvalidId { index: i + 1, id: task.id.clone() });
        }
        if let Some(&first) = index.get(task.id.as_str()) {
            errors.push(PlanError::DuplicateId { id: task.id.clone(), first: first as usize + 1, second: i + 1 });
        } else {
            index.insert(task.id.as_str(), i as u32);
        }
        if !known_specialist(&task.specialist) {
            errors.push(PlanError::UnknownSpecialist { task: task.id.clone(), specialist: task.specialist.clone() });
        }
        if !(task.estimate_hours.is_finite() && task.estimate_hours > 0.0) {
            errors.push(PlanError::BadEstimate { task: task.id.clone(), value: task.estimate_hours });
        }
    }

    let mut context_ids: HashSet<&str> = HashSet::with_capacity(plan.context.len());
    for item in &plan.context {
        if !context_ids.insert(item.id.as_str()) {
            errors.push(PlanError::DuplicateContextId { id: item.id.clone() });
        }
    }
    for task in &plan.tasks {
        for item in &task.context {
            if !context_ids.contains(item.as_str()) {
                errors.push(PlanError::UnknownContext { task: task.id.clone(), item: item.clone() });
            }
        }
    }

    for w in &plan.workflows {
        for stage in &w.stages {
            if let Some(task) = &stage.task
                && !index.contains_key(task.as_str())
            {
                errors.push(PlanError::UnknownWorkflowTask {
                    workflow: w.kind.as_str().to_string(),
                    step: stage.step.clone(),
                    task: task.clone(),
                });
            }
        }
    }

    // Dependencies as a compressed adjacency list, duplicates removed.
    let mut dep_start = Vec::with_capacity(n + 1);
    let mut deps: Vec<u32> = Vec::with_capacity(plan.tasks.iter().map(|t| t.depends_on.len()).sum());
    dep_start.push(0u32);
    for (i, task) in plan.tasks.iter().enumerate() {
        let begin = deps.len();
        for dep in &task.depends_on {
            match index.get(dep.as_str()) {
                Some(&d) if d as usize == i => errors.push(PlanError::SelfDependency { task: task.id.clone() }),
                Some(&d) => deps.push(d),
                None => errors.push(PlanError::UnknownDependency { task: task.id.clone(), dependency: dep.clone() }),
            }
        }
        let mine = &mut deps[begin..];
        mine.sort_unstable();
        let unique = dedup_sorted(mine);
        deps.truncate(begin + unique);
        dep_start.push(deps.len() as u32);
    }

    // Reverse adjacency (dependents), by counting sort so each list is in plan order.
    let mut rdep_start = vec![0u32; n + 1];
    for &d in &deps {
        rdep_start[d as usize + 1] += 1;
    }
    for i in 0..n {
        rdep_start[i + 1] += rdep_start[i];
    }
    let mut fill = rdep_start.clone();
    let mut rdeps = vec![0u32; deps.len()];
    for i in 0..n {
        for &d in &deps[dep_start[i] as usize..dep_start[i + 1] as usize] {
            rdeps[fill[d as usize] as usize] = i as u32;
            fill[d as usize] += 1;
        }
    }

    // Kahn's algorithm: topological order and layers (longest distance from a source).
    let mut indegree: Vec<u32> = (0..n).map(|i| dep_start[i + 1] - dep_start[i]).collect();
    let mut layer = vec![0u32; n];
    let mut order: Vec<u32> = (0..n as u32).filter(|&i| indegree[i as usize] == 0).collect();
    let mut head = 0;
    while head < order.len() {
        let v = order[head] as usize;
        head += 1;
        for &w in &rdeps[rdep_start[v] as usize..rdep_start[v + 1] as usize] {
            let w = w as usize;
            layer[w] = layer[w].max(layer[v] + 1);
            indegree[w] -= 1;
            if indegree[w] == 0 {
                order.push(w as u32);
            }
        }
    }
    if order.len() < n {
        let cycle = find_cycle(&indegree, &dep_start, &deps);
        errors.push(PlanError::Cycle { ids: cycle.iter().map(|&i| plan.tasks[i as usize].id.clone()).collect() });
    }

    // `blocks` written in the file must be true.
    for (i, task) in plan.tasks.iter().enumerate() {
        for blocked in &task.blocks {
            let ok = index.get(blocked.as_str()).is_some_and(|&b| {
                let b = b as usize;
                deps[dep_start[b] as usize..dep_start[b + 1] as usize].binary_search(&(i as u32)).is_ok()
            });
            if !ok {
                errors.push(PlanError::BlocksMismatch { task: task.id.clone(), blocked: blocked.clone() });
            }
        }
    }
    drop(index);
    drop(context_ids);

    if !errors.is_empty() {
        return Err(PlanErrors(errors));
    }

    // Critical path: the chain with the largest summed estimate.
    let mut dist = vec![0f64; n];
    let mut pred = vec![u32::MAX; n];
    for &v in &order {
        let v = v as usize;
        let mut best = 0f64;
        for &d in &deps[dep_start[v] as usize..dep_start[v + 1] as usize] {
            // Ties go to the earliest task in plan order (deps are sorted by index).
            if pred[v] == u32::MAX || dist[d as usize] > best {
                best = dist[d as usize];
                pred[v] = d;
            }
        }
        dist[v] = best + plan.tasks[v].estimate_hours;
    }
    let mut end = 0;
    for v in 1..n {
        if dist[v] > dist[end] {
            end = v;
        }
    }
    let mut path = vec![end];
    while pred[*path.last().unwrap_or(&end)] != u32::MAX {
        let last = *path.last().unwrap_or(&end);
        path.push(pred[last] as usize);
    }
    path.reverse();

    let layers = layer.iter().copied().max().unwrap_or(0) as usize + 1;
    let mut groups: Vec<Vec<String>> = vec![Vec::new(); layers];
    for (i, task) in plan.tasks.iter().enumerate() {
        groups[layer[i] as usize].push(task.id.clone());
    }
    let blocks: Vec<Vec<String>> = (0..n)
        .map(|i| {
            rdeps[rdep_start[i] as usize..rdep_start[i + 1] as usize]
                .iter()
                .map(|&w| plan.tasks[w as usize].id.clone())
                .collect()
        })
        .collect();
    for (task, b) in plan.tasks.iter_mut().zip(blocks) {
        task.blocks = b;
        if task.objective.trim().is_empty() {
            task.objective = task.title.clone();
        }
    }
    plan.critical_path_hours = dist[end];
    plan.critical_path = path.iter().map(|&i| plan.tasks[i].id.clone()).collect();
    plan.groups = groups;

    Ok(ValidatedPlan { plan, dep_start, deps, rdep_start, rdeps, layer })
}

fn dedup_sorted(v: &mut [u32]) -> usize {
    if v.is_empty() {
        return 0;
    }
    let mut w = 1;
    for r in 1..v.len() {
        if v[r] != v[w - 1] {
            v[w] = v[r];
            w += 1;
        }
    }
    w
}

/// Finds one cycle among the tasks Kahn's algorithm could not order. Each of those has at least
/// one dependency that is also unordered, so following such dependencies must revisit a task.
fn find_cycle(indegree: &[u32], dep_start: &[u32], deps: &[u32]) -> Vec<u32> {
    let n = indegree.len();
    let Some(start) = (0..n).find(|&i| indegree[i] > 0) else {
        return Vec::new();
    };
    let mut seen_at = vec![u32::MAX; n];
    let mut walk: Vec<u32> = Vec::new();
    let mut v = start;
    loop {
        if seen_at[v] != u32::MAX {
            return walk[seen_at[v] as usize..].to_vec();
        }
        seen_at[v] = walk.len() as u32;
        walk.push(v as u32);
        let next =
            deps[dep_start[v] as usize..dep_start[v + 1] as usize].iter().copied().find(|&d| indegree[d as usize] > 0);
        match next {
            Some(d) => v = d as usize,
            // Unreachable by the invariant above; return what was walked rather than panic.
            None => return walk,
        }
    }
}
