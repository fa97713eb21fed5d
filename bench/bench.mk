# placeholder until the bench harness lands
