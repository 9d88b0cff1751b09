variable "state_dir" {
  description = "Directory that holds the local hosts: each host's root is <state_dir>/hosts/<name>. Nothing is written outside it."
  type        = string

  validation {
    condition     = startswith(var.state_dir, "/")
    error_message = "state_dir must be an absolute path."
  }
}

variable "environment" {
  description = "Provision only the hosts in this group. Empty: the workspace name, or every host in the default workspace."
  type        = string
  default     = ""
}

variable "address" {
  description = "Address every local host answers on."
  type        = string
  default     = "127.0.0.1"
}

variable "connection" {
  description = "Value of ansible_connection for every host (local for the embedded default); empty to leave it unset."
  type        = string
  default     = "local"
}

variable "hosts" {
  description = "The local hosts: name -> application port and inventory groups."
  type = map(object({
    port   = number
    groups = list(string)
  }))
  default = {
    app1 = { port = 18081, groups = ["app", "staging"] }
    app2 = { port = 18082, groups = ["app", "production"] }
    app3 = { port = 18083, groups = ["app", "production"] }
  }
}
