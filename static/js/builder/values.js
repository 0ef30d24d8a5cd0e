/* Values under an operator: what a value becomes when the operator changes, and what
   to say while it is still empty. Pure. */

export function isEmpty(value) {
  if (Array.isArray(value)) return !value.length || value.some(isEmpty);
  return value === null || value === undefined || (typeof value === "string" && !value.trim());
}

/* A value fitting a new operator: what can be kept is kept (one value into a list,
   the first of a list back into one value). */
export function resetValue(holder, key, op, type, previousOp, shapeOf) {
  const old = holder[key];
  const shape = shapeOf(op);
  const empty = type === "number" ? null : "";
  let single = Array.isArray(old) ? old[0] : old;
  if (single === undefined || single === null || single === "") single = empty;
  if (type === "number" && typeof single === "string") {
    single = single.trim() === "" || isNaN(Number(single)) ? null : Number(single);
  }
  if (type !== "number" && typeof single === "number") single = String(single);
  if (shape === "none") delete holder[key];
  else if (shape === "list") holder[key] = single === empty || single === null ? [] : [String(single)];
  else if (shape === "range") holder[key] = [single, empty];
  else if (shape === "days") holder[key] = shapeOf(previousOp) === "days" ? old : null;
  else holder[key] = single;
}

/* A condition's time window set to `key` ("" for all time): the other window keys go,
   and the new one starts empty in its shape. */
export function setWindow(cond, key, windowKeys, shape) {
  windowKeys.forEach((k) => { delete cond[k]; });
  if (!key) return;
  if (shape === "range") cond[key] = ["", ""];
  else if (shape === "days") cond[key] = null;
  else cond[key] = "";
}

/* What a node's error says while nothing is typed yet, instead of what the empty
   value failed to be; null when something is typed. */
export function emptyMessage(shape, value) {
  if (shape === "none" || !isEmpty(value)) return null;
  if (shape === "list") return "Add at least one value.";
  return shape === "range" ? "Enter both values." : "Enter a value.";
}
