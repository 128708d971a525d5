import SwiftUI

@main
struct EdgeAffectDemoApp: App {
    var body: some Scene {
        WindowGroup { ContentView() }
    }
}
