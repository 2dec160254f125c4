import XCTest
@testable import LangID
final class LangIDPlaceholderTests: XCTestCase { func testModuleLoads() { XCTAssertNotNil(LangID.self) } }
