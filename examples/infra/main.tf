locals {
  environment = var.environment != "" ? var.environment : (terraform.workspace == "default" ? "" : terraform.workspace)
  hosts = {
    for name, host in var.hosts : name => merge(host, { root = "${var.state_dir}/hosts/${name}" })
    if local.environment == "" || contains(host.groups, local.environment)
  }
}

# One "host" per entry: its root directory on this machine. The commands run without a shell.
resource "terraform_data" "host" {
  for_each = local.hosts

  triggers_replace = [each.value.root]
  input = {
    root   = each.value.root
    port   = each.value.port
    groups = each.value.groups
  }

  provisioner "local-exec" {
    interpreter = ["mkdir", "-p"]
    command     = each.value.root
  }

  # Only an empty root is removed: a destroy never deletes deployed releases or logs.
  provisioner "local-exec" {
    when        = destroy
    on_failure  = continue
    interpreter = ["rmdir", "--ignore-fail-on-non-empty"]
    command     = self.output.root
  }
}
