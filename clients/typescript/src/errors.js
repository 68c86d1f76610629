// The error every failed call throws: hookrelay's error JSON, or the transport's failure.

export class HookrelayError extends Error {
  /**
   * @param {number | undefined} status the HTTP status; undefined when no response came
   * @param {string} code the error JSON's `code` (`validation_failed`, `not_found`, …), or
   *   `connection_failed` when no response came
   * @param {string} message
   * @param {string | undefined} field the offending field, for validation errors
   * @param {unknown} [cause]
   */
  constructor(status, code, message, field, cause) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "HookrelayError";
    this.status = status;
    this.code = code;
    this.field = field ?? undefined;
  }

  /** Reads a response that is not 2xx: hookrelay's `{"error":{code,message,field}}`, or not. */
  static async from(response) {
    const text = await response.text();
    let detail;
    try {
      detail = JSON.parse(text).error;
    } catch {
      // Not hookrelay's JSON (a proxy's page, say): keep the status and the text.
    }
    if (detail && typeof detail.code === "string") {
      return new HookrelayError(response.status, detail.code, detail.message, detail.field);
    }
    return new HookrelayError(response.status, `http_${response.status}`, text.slice(0, 500) || response.statusText);
  }
}
